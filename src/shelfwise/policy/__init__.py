"""Decision policies and their evaluation from logged feedback.

So far: off-policy evaluation (`estimators`, `sessions`) of a candidate policy against decisions logged under
another one (`logged.LoggedBandit`), the Bernoulli Thompson sampling policy of the Open Bandit Dataset
(`thompson`), a cross-fitted click model for the direct and doubly robust estimators (`reward_model`), and the
Open Bandit Dataset check of all of them (`open_bandit`). Nothing here knows of HTTP.
"""

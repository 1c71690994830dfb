"""Product images: read them (local files or bounded downloads), encode them offline on CPU with a
DINOv2-small ViT (the optional `images` extra), and keep the vectors as a fitted component."""

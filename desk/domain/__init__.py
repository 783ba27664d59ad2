"""Domain types shared by every area of the desk."""

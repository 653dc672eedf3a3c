// guest-links

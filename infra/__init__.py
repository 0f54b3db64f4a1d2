"""The Pulumi program of the real-time ecommerce analytics POC (cloud side only)."""

"""WaterBill API project package: settings, URLs, WSGI/ASGI entry points and cross-app plumbing."""

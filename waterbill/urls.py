"""Root URLs: the versioned API, its OpenAPI schema and docs, the admin (and its branding)."""

from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from waterbill.health import health

# The support desk's admin, in the request's language like the API (French unless the browser asks for English).
admin.site.site_header = _("WaterBill support desk")
admin.site.site_title = _("WaterBill admin")
admin.site.index_title = _("Accounts, codes and SMS")
# The app list beside every page took 300 px of 1280 and cut the lists' last columns; Home is in the breadcrumbs.
admin.site.enable_nav_sidebar = False

urlpatterns = [
    path("api/v1/health/", health, name="health"),
    path("api/v1/", include("users.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("admin/", admin.site.urls),
]

handler400 = "waterbill.views.bad_request"
handler403 = "waterbill.views.permission_denied"
handler404 = "waterbill.views.not_found"
handler500 = "waterbill.views.server_error"

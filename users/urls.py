"""URLs of the account API (mounted under /api/v1/)."""

from django.urls import path

from users import views

urlpatterns = [
    path("auth/register/", views.RegisterView.as_view(), name="register"),
    path("auth/activate/", views.ActivateView.as_view(), name="activate"),
    path("auth/activate/resend/", views.ResendActivationView.as_view(), name="activate-resend"),
    path("auth/login/", views.LoginView.as_view(), name="login"),
    path("auth/token/refresh/", views.RefreshView.as_view(), name="token-refresh"),
    path("auth/logout/", views.LogoutView.as_view(), name="logout"),
    path("users/me/", views.MeView.as_view(), name="me"),
    path("users/me/password/", views.PasswordChangeView.as_view(), name="password-change"),
]

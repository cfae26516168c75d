"""URLs of the account API (mounted under /api/v1/)."""

from django.urls import path

from users import views

# In the order of the app's flow: the OpenAPI schema lists the operations so (SORT_OPERATIONS off).
urlpatterns = [
    path("auth/register/", views.RegisterView.as_view(), name="register"),
    path("auth/activate/", views.ActivateView.as_view(), name="activate"),
    path("auth/activate/resend/", views.ResendActivationView.as_view(), name="activate-resend"),
    path("auth/activate/status/", views.SignupSmsStatusView.as_view(), name="activate-status"),
    path("auth/login/", views.LoginView.as_view(), name="login"),
    path("auth/token/refresh/", views.RefreshView.as_view(), name="token-refresh"),
    path("auth/logout/", views.LogoutView.as_view(), name="logout"),
    path("users/me/", views.MeView.as_view(), name="me"),
    path("users/me/password/", views.PasswordChangeView.as_view(), name="password-change"),
    path("auth/password/reset/", views.PasswordResetView.as_view(), name="password-reset"),
    path("auth/password/reset/confirm/", views.PasswordResetConfirmView.as_view(), name="password-reset-confirm"),
    path("users/me/phone/", views.PhoneChangeView.as_view(), name="phone-change"),
    path("users/me/phone/confirm/", views.PhoneChangeConfirmView.as_view(), name="phone-change-confirm"),
    # The customer's data rights: a copy of it all (deletion is DELETE users/me/).
    path("users/me/export/", views.AccountExportView.as_view(), name="account-export"),
    path("users/me/sessions/", views.SessionsView.as_view(), name="sessions"),
    path("users/me/sessions/revoke-others/", views.RevokeOtherSessionsView.as_view(), name="sessions-revoke-others"),
    path("users/me/sessions/<int:session_id>/", views.SessionView.as_view(), name="session"),
    # The providers' delivery receipts (sms.receipts.PATHS).
    path("sms/status/twilio/", views.TwilioStatusView.as_view(), name="sms-status-twilio"),
    path("sms/status/africastalking/", views.AfricasTalkingStatusView.as_view(), name="sms-status-africastalking"),
    path("sms/status/orange/", views.OrangeStatusView.as_view(), name="sms-status-orange"),
]

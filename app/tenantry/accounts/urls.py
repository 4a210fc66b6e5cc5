from django.urls import path

from tenantry.core.placeholder import placeholder

app_name = "accounts"
urlpatterns = [path(f"{name}/", placeholder, name=name) for name in
               ["login", "logout", "signup", "password_reset", "password_reset_done", "password_reset_complete"]]
urlpatterns.append(path("reset/<uidb64>/<token>/", placeholder, name="password_reset_confirm"))

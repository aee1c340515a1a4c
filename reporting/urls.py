from django.contrib import admin
from django.urls import path

from . import views

app_name = "reporting"

urlpatterns = [
    path("", admin.site.admin_view(views.dashboard_view), name="dashboard"),
]

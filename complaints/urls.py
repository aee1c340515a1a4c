from django.urls import path

from . import views

app_name = "complaints"
urlpatterns = [
    path("<int:pk>/", views.download_attachment, name="attachment-download"),
    path("<int:pk>/view/", views.view_attachment, name="attachment-view"),
]

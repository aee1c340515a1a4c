from django.urls import path

from . import views

app_name = "followups"

urlpatterns = [
    path("s/<str:token>/", views.survey, name="survey"),
]

from django.urls import path

from . import views

app_name = "scoring"

urlpatterns = [
    path("evaluation/", views.round_list, name="rounds"),
    path("evaluation/rounds/<int:pk>/", views.round_detail, name="round"),
    path("evaluation/rounds/<int:pk>/grid/", views.grid, name="grid"),
    path("evaluation/rounds/<int:pk>/<str:action>/", views.round_action, name="round_action"),
    path("evaluation/sheets/<int:pk>/", views.sheet_detail, name="sheet"),
    path("evaluation/scores/<int:pk>/override/", views.score_override, name="score_override"),
    path("evaluation/scores/<int:pk>/photo/", views.score_photo, name="score_photo"),
    path("abc/", views.abc_list, name="abc_list"),
    path("abc/export/", views.abc_export, name="abc_export"),
    path("abc/publish/", views.publish, name="publish"),
    path("abc/grades/<int:pk>/override/", views.grade_override, name="grade_override"),
    path("evaluation/import/", views.score_import, name="import"),
    path("evaluation/jobs/start/", views.job_start, name="job_start"),
    path("evaluation/jobs/<str:quarter>/status/", views.job_status, name="job_status"),
]

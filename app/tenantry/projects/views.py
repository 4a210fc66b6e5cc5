"""Project pages of the active tenant. A project id from another tenant is not in this schema, so
it is a plain 404: there is nothing to check beyond the lookup itself. Reading stays open to every
member; changing needs a live subscription (a lapsed tenant can still see its data)."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from tenantry.billing.guards import subscription_required
from tenantry.projects import selectors, services
from tenantry.projects.forms import ProjectFilterForm, ProjectForm

PAGE_SIZE = 20


def _project_or_404(pk: int):
    return get_object_or_404(selectors.project_list(), pk=pk)


def _posted(request):
    return request.POST if request.method == "POST" else None


@login_required
@require_safe
def project_list(request):
    filter_form = ProjectFilterForm(request.GET)
    page = Paginator(selectors.project_list(**filter_form.filters()), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "projects/project_list.html",
                  {"filter_form": filter_form, "page": page, "rows": selectors.rows(page.object_list)})


@subscription_required
@require_http_methods(["GET", "POST"])
def project_create(request):
    form = ProjectForm(_posted(request))
    if form.is_valid():
        project = services.create_project(owner=request.user, **form.cleaned_data)
        messages.success(request, f"Project “{project.name}” was created.")
        return redirect("projects:detail", pk=project.pk)
    return render(request, "projects/project_form.html", {"form": form})


@login_required
@require_safe
def project_detail(request, pk: int):
    return render(request, "projects/project_detail.html", {"project": _project_or_404(pk)})


@subscription_required
@require_http_methods(["GET", "POST"])
def project_update(request, pk: int):
    project = _project_or_404(pk)
    form = ProjectForm(_posted(request), instance=project)
    if form.is_valid():
        services.update_project(project, **form.cleaned_data)
        messages.success(request, f"Project “{project.name}” was saved.")
        return redirect("projects:detail", pk=project.pk)
    return render(request, "projects/project_form.html", {"form": form, "project_id": pk})


@subscription_required
@require_http_methods(["GET", "POST"])
def project_delete(request, pk: int):
    project = _project_or_404(pk)
    if request.method == "POST":
        services.delete_project(project)
        messages.success(request, f"Project “{project.name}” was deleted.")
        return redirect("projects:list")
    return render(request, "projects/project_confirm_delete.html", {"project": project})

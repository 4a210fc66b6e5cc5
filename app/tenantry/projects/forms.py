from django import forms

from tenantry.projects.models import Project


class ProjectForm(forms.ModelForm):
    """Name, description and status; the owner is whoever creates the project."""

    class Meta:
        model = Project
        fields = ["name", "description", "status"]
        widgets = {"description": forms.Textarea(attrs={"rows": 6})}


class ProjectFilterForm(forms.Form):
    """The list's search box and status filter. An invalid value is reported and ignored."""
    q = forms.CharField(required=False, max_length=200, label="Search")
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *Project.Status.choices])

    def filters(self) -> dict[str, str]:
        self.is_valid()
        return {"search": self.cleaned_data.get("q", ""), "status": self.cleaned_data.get("status", "")}

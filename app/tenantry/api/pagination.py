from rest_framework.pagination import PageNumberPagination


class ApiPagination(PageNumberPagination):
    """PAGE_SIZE by default; clients may ask for fewer or more, up to a bound on the work per page."""
    page_size_query_param = "page_size"
    max_page_size = 100

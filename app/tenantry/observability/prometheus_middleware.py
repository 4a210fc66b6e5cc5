"""django-prometheus' middleware pair, recording only the families the dashboards and alerts read.

In multiprocess mode every sample is a locked write to a memory-mapped file, and the stock pair
records eleven families per request, two of them histograms of body sizes nobody reads. Under the
load test that was about 8 % of a web worker's CPU. Kept, as django-prometheus names them:
django_http_requests_before_middlewares_total, django_http_responses_before_middlewares_total,
django_http_requests_total_by_view_transport_method, django_http_responses_total_by_status_view_method
and django_http_requests_latency_seconds_by_view_method, plus the exception counters. The other
families stay registered (at zero), so a query over them returns nothing rather than an error.
"""
from django_prometheus.middleware import PrometheusAfterMiddleware, PrometheusBeforeMiddleware
from django_prometheus.utils import Time, TimeSince


class RequestsBefore(PrometheusBeforeMiddleware):
    def process_request(self, request):
        self.metrics.requests_total.inc()

    def process_response(self, request, response):
        self.metrics.responses_total.inc()
        return response


class RequestsAfter(PrometheusAfterMiddleware):
    def process_request(self, request):
        request.prometheus_after_middleware_event = Time()

    def process_template_response(self, request, response):
        return response

    def process_response(self, request, response):
        method, view = self._method(request), self._get_view_name(request)
        self.metrics.responses_by_status_view_method.labels(
            status=str(response.status_code), view=view, method=method).inc()
        if hasattr(request, "prometheus_after_middleware_event"):
            self.metrics.requests_latency_by_view_method.labels(view=view, method=request.method).observe(
                TimeSince(request.prometheus_after_middleware_event))
        else:
            self.metrics.requests_unknown_latency.inc()
        return response

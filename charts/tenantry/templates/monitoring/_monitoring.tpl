{{/* Labels of every monitoring object: the component's, plus monitoring.additionalLabels (the release
label a kube-prometheus-stack Prometheus or Grafana sidecar selects on). */}}
{{- define "tenantry.monitoringLabels" -}}
{{ include "tenantry.componentLabels" . }}
{{- with .ctx.Values.monitoring.additionalLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* A ServiceMonitor scraping the `metrics` port of one component's Service, include with
(dict "ctx" $ "component" "web" "name" <object name>). jobLabel makes the job the component's name
(web, operator, pgbouncer), the job names the dashboards and alerts use. */}}
{{- define "tenantry.serviceMonitor" -}}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ .name }}
  namespace: {{ .ctx.Release.Namespace }}
  labels:
    {{- include "tenantry.monitoringLabels" . | nindent 4 }}
spec:
  jobLabel: app.kubernetes.io/component
  namespaceSelector:
    matchNames:
      - {{ .ctx.Release.Namespace }}
  selector:
    matchLabels:
      {{- include "tenantry.selectorLabels" . | nindent 6 }}
  endpoints:
    - port: metrics
      path: /metrics
      {{- with .ctx.Values.monitoring.interval }}
      interval: {{ . }}
      {{- end }}
{{- end -}}

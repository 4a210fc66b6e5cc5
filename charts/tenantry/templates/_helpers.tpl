{{/* Names, labels and shared snippets. */}}

{{- define "tenantry.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "tenantry.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Cluster-scoped objects carry the namespace too: two releases of the same name must not collide. */}}
{{- define "tenantry.clusterName" -}}
{{- printf "%s-%s" .Release.Namespace (include "tenantry.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "tenantry.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "tenantry.labels" -}}
helm.sh/chart: {{ include "tenantry.chart" . }}
app.kubernetes.io/name: {{ include "tenantry.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tenantry
{{- end -}}

{{/* Selector labels of one component: include with (dict "ctx" $ "component" "web"). */}}
{{- define "tenantry.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tenantry.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "tenantry.componentLabels" -}}
{{ include "tenantry.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "tenantry.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "tenantry.webName" -}}
{{- printf "%s-web" (include "tenantry.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "tenantry.operatorName" -}}
{{- printf "%s-operator" (include "tenantry.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "tenantry.fleetConfigMap" -}}
{{- printf "%s-migrations" (include "tenantry.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "tenantry.operatorServiceAccount" -}}
{{- default (include "tenantry.operatorName" .) .Values.operator.serviceAccount.name -}}
{{- end -}}

{{- define "tenantry.migrateName" -}}
{{- printf "%s-migrate" (include "tenantry.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "tenantry.pgbouncerName" -}}
{{- printf "%s-pgbouncer" (include "tenantry.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The Secret holding PgBouncer's userlist.txt (and the exporter's connection URL). */}}
{{- define "tenantry.pgbouncerSecret" -}}
{{- default (include "tenantry.pgbouncerName" .) .Values.pgbouncer.existingSecret -}}
{{- end -}}

{{/* The bundled Redis: the same name the default secrets.redisUrl points at. */}}
{{- define "tenantry.redisName" -}}
{{- printf "%s-redis" (include "tenantry.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "tenantry.peeringName" -}}
{{- default (include "tenantry.fullname" .) .Values.operator.peeringName -}}
{{- end -}}

{{- define "tenantry.webhookSecret" -}}
{{- printf "%s-webhook-tls" (include "tenantry.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The DNS name the API server calls the webhook at. */}}
{{- define "tenantry.webhookHost" -}}
{{- printf "%s.%s.svc" (include "tenantry.operatorName" .) .Release.Namespace -}}
{{- end -}}

{{/* The Secret holding DJANGO_SECRET_KEY, DATABASE_URL, DATABASE_POOLED_URL and REDIS_URL (and
DATABASE_REPLICA_URL with database.replica.host). */}}
{{- define "tenantry.secretName" -}}
{{- if .Values.secrets.existingSecret -}}
{{- .Values.secrets.existingSecret -}}
{{- else -}}
{{- printf "%s-app" (include "tenantry.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Django's SECRET_KEY, decided once per render: `secrets.secretKey` if set; else the key already
in the release's Secret (lookup: an upgrade keeps it, so sessions and signed links survive); else
50 random characters. The choice is remembered in .Values for the rest of the render (every template
shares that map; Helm stores the release's values from a copy, so it is never saved), because two
templates need the same key and each would otherwise draw its own: the migration hook's Secret
(migrate-secret.yaml) is created before the release's Secret exists, so on a first install lookup
finds nothing for either, and both must carry the one key generated here. The checksum annotations
that include secret.yaml see the same key too. Without a cluster (`helm template`, `helm lint`)
lookup is empty and every render draws a new key. Only called when secrets.existingSecret is empty. */}}
{{- define "tenantry.secretKey" -}}
{{- if not (hasKey .Values.secrets "_renderedSecretKey") -}}
{{- $key := .Values.secrets.secretKey -}}
{{- if not $key -}}
{{- $existing := lookup "v1" "Secret" .Release.Namespace (include "tenantry.secretName" .) -}}
{{- $stored := dig "data" "DJANGO_SECRET_KEY" "" $existing -}}
{{- $key = ternary ($stored | b64dec) (randAlphaNum 50) (ne $stored "") -}}
{{- end -}}
{{- $_ := set .Values.secrets "_renderedSecretKey" $key -}}
{{- end -}}
{{- .Values.secrets._renderedSecretKey -}}
{{- end -}}

{{/* The streaming replica's URL for the web pods: a secretKeyRef (a Secret of its own, or the chart's
key DATABASE_REPLICA_URL built from database.replica.host), or nothing when no replica is set. */}}
{{- define "tenantry.replicaUrlRef" -}}
{{- $replica := .Values.database.replica -}}
{{- if $replica.existingSecret -}}
name: {{ $replica.existingSecret }}
key: {{ $replica.existingSecretKey }}
{{- else if $replica.host -}}
{{- if .Values.secrets.existingSecret -}}
{{- fail "database.replica.host needs the chart's Secret to build the replica's URL; with secrets.existingSecret, put the URL in a Secret and set database.replica.existingSecret" -}}
{{- end -}}
name: {{ include "tenantry.secretName" . }}
key: DATABASE_REPLICA_URL
{{- end -}}
{{- end -}}

{{/* The secret values (the schema checks them first; this is the message when it is bypassed). */}}
{{- define "tenantry.secretData" -}}
{{- $db := .Values.database -}}
{{- $secretKey := include "tenantry.secretKey" . -}}
{{- /* urlquery escapes a space as "+", which a URL's user-info part does not decode: use %20. */ -}}
{{- $password := required "database.password is required unless secrets.existingSecret is set" $db.password | urlquery | replace "+" "%20" -}}
{{- $user := $db.user | urlquery | replace "+" "%20" -}}
DJANGO_SECRET_KEY: {{ $secretKey | b64enc | quote }}
DATABASE_URL: {{ printf "postgresql://%s:%s@%s:%d/%s" $user $password $db.host (int $db.port) $db.name | b64enc | quote }}
{{- $pooledHost := ternary (include "tenantry.pgbouncerName" .) $db.pooledHost .Values.pgbouncer.enabled }}
{{- $pooledPort := ternary .Values.pgbouncer.port $db.pooledPort .Values.pgbouncer.enabled }}
DATABASE_POOLED_URL: {{ printf "postgresql://%s:%s@%s:%d/%s" $user $password $pooledHost (int $pooledPort) $db.name | b64enc | quote }}
{{- if and $db.replica.host (not $db.replica.existingSecret) }}
DATABASE_REPLICA_URL: {{ printf "postgresql://%s:%s@%s:%d/%s" $user $password $db.replica.host (int $db.replica.port) $db.name | b64enc | quote }}
{{- end }}
{{- $redisUrl := .Values.secrets.redisUrl }}
{{- if .Values.redis.sentinel.enabled }}
{{- /* Behind Sentinel the app takes only the password and the database number from it. */ -}}
{{- $redisUrl = default (printf "redis://%s/0" (include "tenantry.redisSentinelMaster" .)) $redisUrl }}
{{- else if not .Values.redis.enabled }}
{{- $redisUrl = required "secrets.redisUrl is required when redis.enabled is false (an external Redis)" .Values.secrets.redisUrl }}
{{- end }}
REDIS_URL: {{ default (printf "redis://%s:6379/0" (include "tenantry.redisName" .)) $redisUrl | b64enc | quote }}
{{- end -}}

{{/* redis.sentinel: REDIS_SENTINELS ("host:port,...") and REDIS_SENTINEL_MASTER, checked here too for
when the schema is bypassed. Only called when redis.sentinel.enabled. */}}
{{- define "tenantry.redisSentinels" -}}
{{- if .Values.redis.enabled -}}
{{- fail "redis.sentinel.enabled needs redis.enabled false: the chart runs no Sentinels, redis.sentinel.hosts names yours" -}}
{{- end -}}
{{- if not .Values.redis.sentinel.hosts -}}
{{- fail "redis.sentinel.hosts is required when redis.sentinel.enabled is true" -}}
{{- end -}}
{{- join "," .Values.redis.sentinel.hosts -}}
{{- end -}}

{{- define "tenantry.redisSentinelMaster" -}}
{{- required "redis.sentinel.masterName is required when redis.sentinel.enabled is true" .Values.redis.sentinel.masterName -}}
{{- end -}}

{{- define "tenantry.podSecurityContext" -}}
{{ toYaml .Values.podSecurityContext }}
{{- end -}}

{{- define "tenantry.containerSecurityContext" -}}
{{ toYaml .Values.containerSecurityContext }}
{{- end -}}

{{- define "tenantry.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

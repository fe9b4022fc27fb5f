{{/* Chart name, truncated to 63 characters. */}}
{{- define "mcpgw-cp.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name. */}}
{{- define "mcpgw-cp.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "mcpgw-cp.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "mcpgw-cp.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mcpgw-cp.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: control-plane
{{- end }}

{{- define "mcpgw-cp.labels" -}}
helm.sh/chart: {{ include "mcpgw-cp.chart" . }}
{{ include "mcpgw-cp.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: mcp-gateway
{{- end }}

{{- define "mcpgw-cp.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "mcpgw-cp.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "mcpgw-cp.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The chart's own Secret (admin token, and master key / database URL when given inline). */}}
{{- define "mcpgw-cp.secretName" -}}
{{- include "mcpgw-cp.fullname" . }}
{{- end }}

{{/* Admin token: value, else the one already in the release's Secret, else a new random one. */}}
{{- define "mcpgw-cp.adminToken" -}}
{{- if .Values.adminToken.value }}
{{- .Values.adminToken.value }}
{{- else }}
{{- $existing := lookup "v1" "Secret" .Release.Namespace (include "mcpgw-cp.secretName" .) }}
{{- if and $existing (index ($existing.data | default dict) "admin-token") }}
{{- index $existing.data "admin-token" | b64dec }}
{{- else }}
{{- printf "mcpgw_admin_%s" (randAlphaNum 40) }}
{{- end }}
{{- end }}
{{- end }}

{{- define "mcpgw-cp.adminTokenSecret" -}}
{{- default (include "mcpgw-cp.secretName" .) .Values.adminToken.existingSecret }}
{{- end }}

{{- define "mcpgw-cp.adminTokenKey" -}}
{{- if .Values.adminToken.existingSecret }}{{ .Values.adminToken.existingSecretKey }}{{ else }}admin-token{{ end }}
{{- end }}

{{- define "mcpgw-cp.usesSqlite" -}}
{{- if and (not .Values.database.url) (not .Values.database.existingSecret) }}true{{ end }}
{{- end }}

{{- define "mcpgw-cp.pvcName" -}}
{{- default (printf "%s-state" (include "mcpgw-cp.fullname" .)) .Values.persistence.existingClaim }}
{{- end }}

{{/* Checks that refuse a configuration that cannot work. */}}
{{- define "mcpgw-cp.validate" -}}
{{- if and (gt (int .Values.replicaCount) 1) (include "mcpgw-cp.usesSqlite" .) }}
{{- fail "replicaCount > 1 needs PostgreSQL: set database.url or database.existingSecret" }}
{{- end }}
{{- if and (gt (int .Values.replicaCount) 1) (not (or .Values.masterKey.value .Values.masterKey.existingSecret)) }}
{{- fail "replicaCount > 1 needs one master key for all replicas: set masterKey.value or masterKey.existingSecret" }}
{{- end }}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.signingKey.existingSecret) }}
{{- fail "replicaCount > 1 needs one signing key for all replicas: set signingKey.existingSecret" }}
{{- end }}
{{- end }}

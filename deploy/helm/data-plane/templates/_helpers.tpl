{{/* Chart name, truncated to 63 characters. */}}
{{- define "mcpgw-dp.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name. */}}
{{- define "mcpgw-dp.fullname" -}}
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

{{- define "mcpgw-dp.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "mcpgw-dp.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mcpgw-dp.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: data-plane
{{- end }}

{{- define "mcpgw-dp.labels" -}}
helm.sh/chart: {{ include "mcpgw-dp.chart" . }}
{{ include "mcpgw-dp.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: mcp-gateway
mcpgw/group: {{ .Values.group | quote }}
{{- end }}

{{- define "mcpgw-dp.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "mcpgw-dp.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "mcpgw-dp.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* Deployment, or StatefulSet when each pod keeps its own state volume. */}}
{{- define "mcpgw-dp.workloadKind" -}}
{{- if .Values.persistence.enabled }}StatefulSet{{ else }}Deployment{{ end }}
{{- end }}

{{/* The inline verify key as JSON text (given as a string or as a map). */}}
{{- define "mcpgw-dp.verifyKeyJson" -}}
{{- if kindIs "string" .Values.verifyKey.jwk }}
{{- .Values.verifyKey.jwk | trim }}
{{- else }}
{{- toJson .Values.verifyKey.jwk }}
{{- end }}
{{- end }}

{{/* Checks that refuse a configuration that cannot work. */}}
{{- define "mcpgw-dp.validate" -}}
{{- if not .Values.groupKey.existingSecret }}
{{- fail "groupKey.existingSecret is required: a Secret holding the group's private X25519 JWK (mcpgw keygen --out group.jwk)" }}
{{- end }}
{{- $verifySources := 0 }}
{{- if .Values.verifyKey.jwk }}{{ $verifySources = add1 $verifySources }}{{ end }}
{{- if .Values.verifyKey.existingSecret }}{{ $verifySources = add1 $verifySources }}{{ end }}
{{- if .Values.verifyKey.existingConfigMap }}{{ $verifySources = add1 $verifySources }}{{ end }}
{{- if ne (int $verifySources) 1 }}
{{- fail "set exactly one of verifyKey.jwk, verifyKey.existingSecret, verifyKey.existingConfigMap (the control plane's public signing key)" }}
{{- end }}
{{- if and (not .Values.controlPlane.grpcTarget) (not .Values.airGapped.enabled) }}
{{- fail "controlPlane.grpcTarget is required (host:port of the control plane's gRPC endpoint), unless airGapped.enabled" }}
{{- end }}
{{- if and .Values.airGapped.enabled (not (or .Values.airGapped.existingConfigMap .Values.airGapped.existingSecret)) }}
{{- fail "airGapped.enabled needs airGapped.existingConfigMap or airGapped.existingSecret holding the signed snapshot" }}
{{- end }}
{{- if not (regexMatch "^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$" .Values.group) }}
{{- fail "group must be a slug: lower-case letters, digits, inner dashes, 1-64 characters" }}
{{- end }}
{{- end }}

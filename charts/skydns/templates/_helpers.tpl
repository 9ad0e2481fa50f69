{{/* Chart name, overridable. */}}
{{- define "skydns.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Object name prefix: the release name, or release-chart when the release
name does not already contain the chart name. */}}
{{- define "skydns.fullname" -}}
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

{{/* Labels the Deployment and Service select on. Immutable once installed:
the k8s-app label is what kube-dns/CoreDNS tooling selects; name+instance
keep a coexisting CoreDNS (also k8s-app=kube-dns) out of this Service. */}}
{{- define "skydns.selectorLabels" -}}
k8s-app: {{ .Values.k8sAppLabel }}
app.kubernetes.io/name: {{ include "skydns.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Labels on every object. deploy/ templates carry the same set except
helm.sh/chart and app.kubernetes.io/managed-by. */}}
{{- define "skydns.labels" -}}
{{ include "skydns.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.customLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The checker Deployment's labels: the chart's, with its own component
so neither selector picks the other's pods (the checker has no k8s-app
label: the kube-dns Service must not send it queries). */}}
{{- define "skydns.checkerSelectorLabels" -}}
app.kubernetes.io/name: {{ include "skydns.name" . }}-check
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: checker
{{- end -}}

{{- define "skydns.checkerLabels" -}}
{{ include "skydns.checkerSelectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.customLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "skydns.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "skydns.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The domain without its trailing dot (kube2sky form); skydns gets it
with the dot. */}}
{{- define "skydns.domain" -}}
{{- .Values.clusterDomain | trimSuffix "." -}}
{{- end -}}

{{/* Wildcard listen address in the Service IP's family: pod IPs follow it,
and probes reach the pod IP. */}}
{{- define "skydns.listenHost" -}}
{{- if contains ":" .Values.service.clusterIP -}}[::]{{- else -}}0.0.0.0{{- end -}}
{{- end -}}

{{/* The one etcd address, given to etcd, kube2sky and skydns alike. */}}
{{- define "skydns.etcdURL" -}}
{{- printf "http://127.0.0.1:%d" (int .Values.etcd.clientPort) -}}
{{- end -}}

{{/* "repository:tag", tag defaulting to the chart's appVersion.
Call with (dict "img" .Values.image.x "root" .). */}}
{{- define "skydns.image" -}}
{{- printf "%s:%s" .img.repository (default .root.Chart.AppVersion .img.tag) -}}
{{- end -}}

{{/* Container securityContext; skydns passes add=true for NET_BIND_SERVICE. */}}
{{- define "skydns.securityContext" -}}
{{- $sc := deepCopy .root.Values.containerSecurityContext -}}
{{- if .bind53 -}}
{{- $caps := default dict $sc.capabilities -}}
{{- $_ := set $caps "add" (list "NET_BIND_SERVICE") -}}
{{- $_ := set $sc "capabilities" $caps -}}
{{- end -}}
{{- toYaml $sc -}}
{{- end -}}

{{/* Probe timings; call with (dict "p" .Values.livenessProbe). */}}
{{- define "skydns.probeTimings" -}}
initialDelaySeconds: {{ .p.initialDelaySeconds }}
periodSeconds: {{ .p.periodSeconds }}
timeoutSeconds: {{ .p.timeoutSeconds }}
failureThreshold: {{ .p.failureThreshold }}
successThreshold: {{ .p.successThreshold }}
{{- end -}}

{{/* The ConfigMap skydns-load reads: customRecords.existingConfigMap, else
the chart's own <fullname>-records (made when customRecords holds data;
deploy/'s manifests name it skydns-records). */}}
{{- define "skydns.recordsConfigMap" -}}
{{- default (printf "%s-records" (include "skydns.fullname" .)) .Values.customRecords.existingConfigMap -}}
{{- end -}}

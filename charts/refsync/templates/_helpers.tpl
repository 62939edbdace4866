{{/* Names are fixed (not prefixed by the release) so that the chart installs the same objects as manifests/. */}}
{{- define "refsync.name" -}}refsync-controller{{- end }}

{{- define "refsync.serviceAccountName" -}}
{{- default "refsync-controller" .Values.serviceAccount.name }}
{{- end }}

{{- define "refsync.selectorLabels" -}}
app.kubernetes.io/name: refsync
app.kubernetes.io/component: controller
{{- end }}

{{- define "refsync.labels" -}}
app.kubernetes.io/part-of: refsync
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{/* The controller's rules, as manifests/base/rbac.yaml. `cluster` adds the cluster-scoped kinds. */}}
{{- define "refsync.rules" -}}
- apiGroups: [refsync.dev]
  resources: [externalsecrets, secretstores{{ if .cluster }}, clustersecretstores, clusterexternalsecrets{{ end }}]
  verbs: [get, list, watch, update, patch]
- apiGroups: [refsync.dev]
  resources: [externalsecrets/status, secretstores/status{{ if .cluster }}, clustersecretstores/status, clusterexternalsecrets/status{{ end }}]
  verbs: [get, update, patch]
{{- if .cluster }}
- apiGroups: [refsync.dev]
  resources: [externalsecrets]
  verbs: [create, delete]
- apiGroups: [refsync.dev]
  resources: [clusterexternalsecrets/finalizers]
  verbs: [update]
{{- end }}
- apiGroups: [generators.refsync.dev]
  resources: [passwords, uuids, fakes, vaultdynamicsecrets{{ if .cluster }}, clustergenerators{{ end }}]
  verbs: [get]
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [""]
  resources: [serviceaccounts/token]
  verbs: [create]
- apiGroups: [""]
  resources: [serviceaccounts]
  verbs: [get]
{{- if .cluster }}
- apiGroups: [""]
  resources: [namespaces]
  verbs: [get, list, watch]
{{- end }}
- apiGroups: ["", events.k8s.io]
  resources: [events]
  verbs: [create, patch]
- apiGroups: [""]
  resources: [pods]
  verbs: [list]
- apiGroups: [apps]
  resources: [deployments, statefulsets, daemonsets]
  verbs: [get, list, watch, patch]
- apiGroups: [argoproj.io]
  resources: [rollouts]
  verbs: [get, list, watch, patch]
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, list]
- apiGroups: [argoproj.io]
  resources: [applications]
  verbs: [get, list, patch]
- apiGroups: [kustomize.toolkit.fluxcd.io]
  resources: [kustomizations]
  verbs: [get, list, patch]
{{- end }}

{{/* Names and labels. */}}
{{- define "vdxp.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "vdxp.fullname" -}}
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

{{- define "vdxp.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vdxp.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "vdxp.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "vdxp.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: connector
vdxp.gov.vn/organ-id: {{ .Values.config.organId | quote }}
{{- end }}

{{- define "vdxp.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "vdxp.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "vdxp.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "vdxp.opsPort" -}}
{{- $ops := .Values.config.ops | default dict }}
{{- $ops.port | default 9464 | int }}
{{- end }}

{{- define "vdxp.configPath" -}}/etc/vdxp/config/agency.yaml{{- end }}

{{/* Which secret-backed mounts the config needs: a list of dicts {key, name, mountPath, kind}. */}}
{{- define "vdxp.secretMounts" -}}
{{- $c := .Values.config }}
{{- $s := .Values.secrets }}
{{- $full := include "vdxp.fullname" . }}
{{- $mounts := list }}
{{- $kafka := $c.kafka | default dict }}
{{- $tls := $kafka.tls | default dict }}
{{- if and $tls.enabled (or $tls.caFile $tls.certFile $tls.keyFile) }}
{{- $mounts = append $mounts (dict "key" "kafka-tls" "kind" "secret" "name" (default (printf "%s-kafka-tls" $full) $s.kafkaTls.secretName) "mountPath" $s.kafkaTls.mountPath) }}
{{- end }}
{{- if $kafka.sasl }}
{{- $mounts = append $mounts (dict "key" "kafka-sasl" "kind" "secret" "name" (default (printf "%s-kafka-sasl" $full) $s.kafkaSasl.secretName) "mountPath" $s.kafkaSasl.mountPath) }}
{{- end }}
{{- $signing := $c.signing | default dict }}
{{- if or $signing.keyFile $signing.certFile $signing.chainFile }}
{{- $mounts = append $mounts (dict "key" "signing" "kind" "secret" "name" (default (printf "%s-signing" $full) $s.signing.secretName) "mountPath" $s.signing.mountPath) }}
{{- end }}
{{- if $signing.pkcs11 }}
{{- $mounts = append $mounts (dict "key" "signing-token" "kind" "secret" "name" (default (printf "%s-signing-token" $full) $s.signingToken.secretName) "mountPath" $s.signingToken.mountPath) }}
{{- end }}
{{- if and $c.trust (not $c.trust.insecureSkipVerification) }}
{{- if $s.trust.files }}
{{- $mounts = append $mounts (dict "key" "trust" "kind" "configMap" "name" (printf "%s-trust" $full) "mountPath" $s.trust.mountPath) }}
{{- else if $s.trust.configMapName }}
{{- $mounts = append $mounts (dict "key" "trust" "kind" "configMap" "name" $s.trust.configMapName "mountPath" $s.trust.mountPath) }}
{{- else }}
{{- $mounts = append $mounts (dict "key" "trust" "kind" "secret" "name" (default (printf "%s-trust" $full) $s.trust.secretName) "mountPath" $s.trust.mountPath) }}
{{- end }}
{{- end }}
{{- $web := (($c.trail | default dict).web | default dict) }}
{{- if $web.enabled }}
{{- $mounts = append $mounts (dict "key" "trail-web" "kind" "secret" "name" (default (printf "%s-trail-web" $full) $s.trailWeb.secretName) "mountPath" $s.trailWeb.mountPath) }}
{{- end }}
{{- toJson $mounts }}
{{- end }}

{{/* "true" when config.trust.anchors names a shipped national CA preset (national, national-public), else empty. */}}
{{- define "vdxp.usesNationalCa" -}}
{{- $anchors := ((.Values.config.trust | default dict).anchors) | default list }}
{{- if kindIs "string" $anchors }}{{ $anchors = list $anchors }}{{ end }}
{{- range $anchors }}{{ if has . (list "national" "national-public") }}true{{ end }}{{ end }}
{{- end }}

{{/* "true" when the chart mounts its own copy of the national CA certificates (nationalCa.mount and a preset in use). */}}
{{- define "vdxp.mountsNationalCa" -}}
{{- if and .Values.nationalCa.mount (include "vdxp.usesNationalCa" .) }}true{{ end }}
{{- end }}

{{/* The VXP API's port (the first connector of type vxp, docs/VXP.md), else empty. */}}
{{- define "vdxp.vxpPort" -}}
{{- range (.Values.config.connectors | default list) }}{{- if and (eq .type "vxp") (not $.vxpPortFound) }}{{ .options.port | int }}{{- $_ := set $ "vxpPortFound" true }}{{- end }}{{- end }}
{{- $_ := unset $ "vxpPortFound" }}
{{- end }}

{{/* The trail web page's port when it is enabled, else empty. */}}
{{- define "vdxp.trailWebPort" -}}
{{- $web := (((.Values.config.trail | default dict).web) | default dict) }}
{{- if $web.enabled }}{{ $web.port | default 9465 | int }}{{ end }}
{{- end }}

{{/*
Fails unless `path` lies under `mount`, saying why it must:
vdxp.requireUnder (list "config.kafka.tls.caFile" path mount "secrets.kafkaTls" "secrets must be read from the mounted files")
*/}}
{{- define "vdxp.requireUnder" -}}
{{- $key := index . 0 }}{{- $path := index . 1 }}{{- $mount := index . 2 }}{{- $values := index . 3 }}{{- $why := index . 4 }}
{{- if $path }}
{{- if not (hasPrefix (printf "%s/" (trimSuffix "/" $mount)) $path) }}
{{- fail (printf "%s is %q, which is not under %s.mountPath (%s): %s" $key $path $values $mount $why) }}
{{- end }}
{{- end }}
{{- end }}

{{/* Checks that config refers to secrets only through files the chart mounts, and that file-drop folders are on a volume. */}}
{{- define "vdxp.validate" -}}
{{- $c := .Values.config }}
{{- $s := .Values.secrets }}
{{- $secretWhy := "secrets must be read from the files mounted from their Secret" }}
{{- if not $c.organId }}{{ fail "config.organId is required (e.g. \"000.00.00.H41\"): the chart carries no agency; start from examples/values-000.00.00.*.yaml" }}{{ end }}
{{- if not $c.connectors }}{{ fail "config.connectors is required: the chart carries no agency; start from examples/values-000.00.00.*.yaml" }}{{ end }}
{{- $kafka := $c.kafka | default dict }}
{{- if not $kafka.brokers }}{{ fail "config.kafka.brokers is required" }}{{ end }}
{{- $tls := $kafka.tls | default dict }}
{{- if $tls.enabled }}
{{- range $k := list "caFile" "certFile" "keyFile" }}
{{- include "vdxp.requireUnder" (list (printf "config.kafka.tls.%s" $k) (index $tls $k) $s.kafkaTls.mountPath "secrets.kafkaTls" $secretWhy) }}
{{- end }}
{{- end }}
{{- with $kafka.sasl }}
{{- if .password }}{{ fail "config.kafka.sasl.password must not be inline: put it in a Secret and set config.kafka.sasl.passwordFile" }}{{ end }}
{{- include "vdxp.requireUnder" (list "config.kafka.sasl.passwordFile" .passwordFile $s.kafkaSasl.mountPath "secrets.kafkaSasl" $secretWhy) }}
{{- end }}
{{- with $c.signing }}
{{- if .key }}{{ fail "config.signing.key must not be inline: use config.signing.keyFile" }}{{ end }}
{{- range $k := list "keyFile" "certFile" "chainFile" }}
{{- include "vdxp.requireUnder" (list (printf "config.signing.%s" $k) (index $c.signing $k) $s.signing.mountPath "secrets.signing" $secretWhy) }}
{{- end }}
{{- with .pkcs11 }}
{{- if .pin }}{{ fail "config.signing.pkcs11.pin must not be inline: put it in a Secret (key pin) and set config.signing.pkcs11.pinFile" }}{{ end }}
{{- include "vdxp.requireUnder" (list "config.signing.pkcs11.pinFile" .pinFile $s.signingToken.mountPath "secrets.signingToken" $secretWhy) }}
{{- $module := .module | default "" }}
{{- $under := false }}
{{- range $.Values.pkcs11.volumeMounts }}
{{- if hasPrefix (printf "%s/" (trimSuffix "/" .mountPath)) $module }}{{ $under = true }}{{ end }}
{{- end }}
{{- if not $under }}{{ fail (printf "config.signing.pkcs11.module is %q, which is under none of pkcs11.volumeMounts: the image carries no PKCS#11 module, mount the vendor's (or SoftHSM's) library" $module) }}{{ end }}
{{- end }}
{{- end }}
{{- with $c.trust }}
{{- range $list := list "anchors" "crls" }}
{{- $files := index $c.trust $list | default list }}
{{- if kindIs "string" $files }}{{ $files = list $files }}{{ end }}
{{- range $i, $f := $files }}
{{- if not (has $f (list "national" "national-public")) }}
{{- $key := printf "config.trust.%s[%d]" $list $i }}
{{- include "vdxp.requireUnder" (list $key $f $s.trust.mountPath "secrets.trust" "trust material must be read from the mounted bundle") }}
{{- if and $s.trust.files (not (hasKey $s.trust.files (base $f))) }}
{{- fail (printf "%s is %q, but secrets.trust.files has no %q: the chart-made trust ConfigMap holds only the files listed there (%s)" $key $f (base $f) (keys $s.trust.files | sortAlpha | join ", ")) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- if and $s.trust.files (or $s.trust.configMapName $s.trust.secretName) }}
{{- fail "secrets.trust: files makes the chart create the trust ConfigMap; leave configMapName and secretName empty with it" }}
{{- end }}
{{- $web := (($c.trail | default dict).web | default dict) }}
{{- if $web.enabled }}
{{- include "vdxp.requireUnder" (list "config.trail.web.tokenFile" $web.tokenFile $s.trailWeb.mountPath "secrets.trailWeb" $secretWhy) }}
{{- with $web.tls }}
{{- range $k := list "certFile" "keyFile" "clientCaFile" }}
{{- include "vdxp.requireUnder" (list (printf "config.trail.web.tls.%s" $k) (index $web.tls $k) $s.trailWeb.mountPath "secrets.trailWeb" $secretWhy) }}
{{- end }}
{{- end }}
{{- end }}
{{- $p := .Values.persistence }}
{{- $hasVolume := or $p.enabled $p.existingClaim $p.existingVolume }}
{{- range $c.connectors }}
{{- if eq .type "file-drop" }}
{{- $dir := (.options | default dict).dir }}
{{- if not $hasVolume }}
{{- fail (printf "connector %q is a file-drop on %q but no volume is mounted for it: set persistence.enabled, persistence.existingClaim or persistence.existingVolume" .name $dir) }}
{{- end }}
{{- include "vdxp.requireUnder" (list (printf "connector %s options.dir" .name) $dir $p.mountPath "persistence" "a file-drop folder must be on the shared volume, where the legacy system reads and writes it too") }}
{{- end }}
{{- end }}
{{- if .Values.autoscaling.enabled }}
{{- $partitions := ((($kafka.topics | default dict).partitions) | default 0) | int }}
{{- if and (gt $partitions 0) (gt (int .Values.autoscaling.maxReplicas) $partitions) }}
{{- fail (printf "autoscaling.maxReplicas (%d) exceeds config.kafka.topics.partitions (%d): the extra replicas would get no partition" (int .Values.autoscaling.maxReplicas) $partitions) }}
{{- end }}
{{- end }}
{{- include "vdxp.validateBackbone" . }}
{{- include "vdxp.validateVolume" . }}
{{- include "vdxp.validateDrain" . }}
{{- end }}

{{/* Decision 28/2018/QĐ-TTg: encrypted and authenticated, unless the explicit opt-out is set. */}}
{{- define "vdxp.validateBackbone" -}}
{{- $kafka := .Values.config.kafka | default dict }}
{{- $tls := $kafka.tls | default dict }}
{{- $encrypted := $tls.enabled }}
{{- $authenticated := or $kafka.sasl (and $tls.enabled $tls.certFile $tls.keyFile) }}
{{- if and (not .Values.allowInsecureBackbone) (not (and $encrypted $authenticated)) }}
{{- $missing := list }}
{{- if not $encrypted }}{{ $missing = append $missing "not encrypted (config.kafka.tls.enabled is not true)" }}{{ end }}
{{- if not $authenticated }}{{ $missing = append $missing "not authenticated (no config.kafka.sasl and no TLS client certificate)" }}{{ end }}
{{- fail (printf "config.kafka: the backbone connection is %s; Decision 28/2018/QĐ-TTg requires it encrypted and authenticated. Only for a test cluster: allowInsecureBackbone: true" (join " and " $missing)) }}
{{- end }}
{{- end }}

{{/* A claim the chart creates must be mountable by every replica. */}}
{{- define "vdxp.validateVolume" -}}
{{- $p := .Values.persistence }}
{{- if and $p.enabled (not $p.existingClaim) (not $p.existingVolume) }}
{{- $replicas := ternary (int .Values.autoscaling.maxReplicas) (int .Values.replicaCount) .Values.autoscaling.enabled }}
{{- $pinned := hasKey (.Values.nodeSelector | default dict) "kubernetes.io/hostname" }}
{{- if and (has "ReadWriteOncePod" $p.accessModes) (gt $replicas 1) }}
{{- fail (printf "persistence.accessModes has ReadWriteOncePod, which one pod alone may mount, but up to %d replicas run: use ReadWriteMany (or one replica)" $replicas) }}
{{- end }}
{{- if and (has "ReadWriteOnce" $p.accessModes) (not (has "ReadWriteMany" $p.accessModes)) (gt $replicas 1) (not $pinned) }}
{{- fail (printf "persistence.accessModes is ReadWriteOnce, which one node alone may mount, but up to %d replicas may run on several nodes (those elsewhere stay ContainerCreating): use ReadWriteMany, one replica, or pin the pods to one node with nodeSelector kubernetes.io/hostname" $replicas) }}
{{- end }}
{{- end }}
{{- end }}

{{/* The drain must end before the kubelet's SIGKILL. */}}
{{- define "vdxp.validateDrain" -}}
{{- $drainMs := ((.Values.config.delivery | default dict).drainTimeoutMs | default 25000) | int }}
{{- $graceMs := mul (int .Values.terminationGracePeriodSeconds) 1000 }}
{{- if ge $drainMs $graceMs }}
{{- fail (printf "config.delivery.drainTimeoutMs (%d ms) is not shorter than terminationGracePeriodSeconds (%d s): the kubelet kills the pod before the drain ends; raise terminationGracePeriodSeconds or lower drainTimeoutMs" $drainMs (int .Values.terminationGracePeriodSeconds)) }}
{{- end }}
{{- end }}

{{/* A Grafana uid (at most 40 characters) per release: several agencies share one Grafana. */}}
{{- define "vdxp.dashboardUid" -}}
{{- $organ := regexReplaceAll "[^a-z0-9-]+" (lower (toString .Values.config.organId)) "-" | trunc 20 | trimSuffix "-" }}
{{- $release := printf "%s/%s" .Release.Namespace (include "vdxp.fullname" .) | sha256sum | trunc 8 }}
{{- printf "vdxp-%s-%s" $organ $release }}
{{- end }}

{{/* Bytes of a Kubernetes quantity such as 2Gi, 500M or 1.5Gi (the forms values.schema.json allows for scratch.sizeLimit). */}}
{{- define "vdxp.quantityBytes" -}}
{{- $q := toString . }}
{{- $units := dict "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776 "k" 1000 "M" 1000000 "G" 1000000000 "T" 1000000000000 }}
{{- $unit := regexFind "[A-Za-z]+$" $q }}
{{- $multiplier := 1 }}
{{- if $unit }}{{ $multiplier = index $units $unit }}{{ end }}
{{- mulf (float64 (trimSuffix $unit $q)) $multiplier | int64 }}
{{- end }}

{{/*
The agency config as the ConfigMap carries it: .Values.config, with limits.maxScratchBytes (the
scratch budget for reassembling large packages, docs/DELIVERY.md "Scratch space") derived from
scratch.sizeLimit when config does not set it: half of the emptyDir, the other half left to
outbound packages being signed or sent and HTTP ingest bodies. An explicit value must stay below
sizeLimit, or the kubelet would evict the pod before the connector's own limit refused anything.
*/}}
{{- define "vdxp.agencyConfig" -}}
{{- $c := deepCopy .Values.config }}
{{- $limits := $c.limits | default dict }}
{{- $size := include "vdxp.quantityBytes" .Values.scratch.sizeLimit | int64 }}
{{- if not (hasKey $limits "maxScratchBytes") }}
{{- $_ := set $limits "maxScratchBytes" (div $size 2) }}
{{- end }}
{{- $scratch := $limits.maxScratchBytes | int64 }}
{{- if ge $scratch $size }}
{{- fail (printf "config.limits.maxScratchBytes (%d) must be below scratch.sizeLimit (%s = %d bytes): the kubelet evicts a pod whose emptyDir outgrows its sizeLimit before the connector's own limit would refuse anything" $scratch (toString .Values.scratch.sizeLimit) $size) }}
{{- end }}
{{- $package := ($limits.maxPackageBytes | default 268435456) | int64 }}
{{- if lt $scratch $package }}
{{- fail (printf "config.limits.maxScratchBytes (%d, from scratch.sizeLimit %s unless set) is below config.limits.maxPackageBytes (%d): a package that large could never be reassembled; raise scratch.sizeLimit or lower maxPackageBytes" $scratch (toString .Values.scratch.sizeLimit) $package) }}
{{- end }}
{{- $_ := set $c "limits" $limits }}
{{- if and (include "vdxp.mountsNationalCa" .) (not (hasKey $c.trust "nationalCaDir")) }}
{{- $_ := set $c.trust "nationalCaDir" .Values.nationalCa.mountPath }}
{{- end }}
{{- toYaml $c }}
{{- end }}

{{/* TCP ports of config.kafka.brokers ("host:port"), without duplicates. */}}
{{- define "vdxp.kafkaPorts" -}}
{{- $ports := list }}
{{- range .Values.config.kafka.brokers }}
{{- $ports = append $ports (last (splitList ":" .) | int) }}
{{- end }}
{{- toJson ($ports | uniq) }}
{{- end }}

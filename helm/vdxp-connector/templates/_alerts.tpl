{{/*
The alert rules as a Prometheus rule file body (`groups:`). The PrometheusRule embeds it; the
plain file helm/prometheus/vdxp-connector.rules.yaml is this, rendered with the default
thresholds and scopeToRelease=false (a test keeps the two identical).
*/}}
{{- define "vdxp.alertSelector" -}}
{{- if .Values.prometheusRule.scopeToRelease -}}
namespace="{{ .Release.Namespace }}", job="{{ include "vdxp.fullname" . }}"
{{- else -}}
job=~".*vdxp-connector.*"
{{- end -}}
{{- end }}

{{- define "vdxp.alertGroups" -}}
{{- $s := include "vdxp.alertSelector" . }}
{{- $t := .Values.prometheusRule.thresholds }}
groups:
  - name: vdxp-connector
    rules:
      - alert: VdxpConnectorNotReady
        expr: vdxp_ready{ {{- $s -}} } == 0
        for: {{ $t.notReadyFor }}
        labels:
          severity: warning
        annotations:
          summary: "VDXP connector pod {{ "{{ $labels.pod }}" }} is not ready"
          description: "/readyz has failed for {{ $t.notReadyFor }}: Kafka unreachable, trust material missing or stale, invalid config, or draining. Its body names the failed checks."
          runbook: "docs/MONITORING.md#vdxpconnectornotready"
      - alert: VdxpConnectorUnavailable
        expr: (max by (namespace, job) (vdxp_ready{ {{- $s -}} }) == 0) or (max by (namespace, job) (up{ {{- $s -}} }) == 0) or absent(vdxp_ready{ {{- $s -}} })
        for: {{ $t.notReadyFor }}
        labels:
          severity: critical
        annotations:
          summary: "No ready VDXP connector replica{{ "{{ with $labels.job }} in {{ . }}{{ end }}" }}"
          description: "No replica has been ready, scrapeable or even reporting for {{ $t.notReadyFor }}: the agency neither sends nor receives documents."
          runbook: "docs/MONITORING.md#vdxpconnectorunavailable"
      - alert: VdxpSinkBreakerOpen
        expr: vdxp_breaker_state{state="closed", {{ $s }}} == 0
        for: {{ $t.breakerNotClosedFor }}
        labels:
          severity: warning
        annotations:
          summary: "Circuit breaker for sink {{ "{{ $labels.sink }}" }} has not been closed for {{ $t.breakerNotClosedFor }}"
          description: "The legacy system behind sink {{ "{{ $labels.sink }}" }} keeps failing; inbound documents wait in Kafka."
          runbook: "docs/MONITORING.md#vdxpsinkbreakeropen"
      - alert: VdxpDeadLetters
        expr: sum by (namespace, job) (increase(vdxp_dead_letters_total{ {{- $s -}} }[15m])) > {{ $t.deadLettersPer15m }}
        labels:
          severity: warning
        annotations:
          summary: '{{ "{{ $value | printf \"%.0f\" }}" }} documents dead-lettered in 15 minutes'
          description: "More than {{ $t.deadLettersPer15m }} messages went to the dead-letter topic in 15 minutes. vdxp_dead_letters_total by reason tells why."
          runbook: "docs/MONITORING.md#vdxpdeadletters"
      - alert: VdxpSignatureRejectionsRising
        expr: |-
          (
            sum by (namespace, job) (rate(vdxp_signature_verifications_total{result="rejected", {{ $s }}}[15m]))
              / sum by (namespace, job) (rate(vdxp_signature_verifications_total{ {{- $s -}} }[15m]))
          ) > {{ $t.signatureRejectedRatio }}
          and sum by (namespace, job) (increase(vdxp_signature_verifications_total{result="rejected", {{ $s }}}[15m])) >= 3
        for: 10m
        labels:
          severity: warning
        annotations:
          summary: "{{ "{{ $value | humanizePercentage }}" }} of inbound signatures rejected"
          description: "More than {{ $t.signatureRejectedRatio }} of signature checks failed over 15 minutes: a partner's certificate expired or was revoked, a CRL is stale, or someone sends forged packages."
          runbook: "docs/MONITORING.md#vdxpsignaturerejectionsrising"
      - alert: VdxpDocumentUndeliveredTooLong
        expr: max by (namespace, job, counterpart) (vdxp_oldest_undelivered_document_age_seconds{ {{- $s -}} }) > {{ $t.maxUndeliveredAgeSeconds }}
        for: 1m
        labels:
          severity: critical
        annotations:
          summary: "A document for/from {{ "{{ $labels.counterpart }}" }} has waited {{ "{{ $value | humanizeDuration }}" }}"
          description: "The oldest undelivered document exchanged with {{ "{{ $labels.counterpart }}" }} is older than the agreed {{ $t.maxUndeliveredAgeSeconds }} seconds."
          runbook: "docs/MONITORING.md#vdxpdocumentundeliveredtoolong"
      - alert: VdxpConsumerLagGrowing
        expr: |-
          sum by (namespace, job, topic) (vdxp_kafka_consumer_lag_messages{ {{- $s -}} }) > {{ $t.consumerLagMessages }}
          and sum by (namespace, job, topic) (delta(vdxp_kafka_consumer_lag_messages{ {{- $s -}} }[10m])) > 0
        for: {{ $t.consumerLagGrowingFor }}
        labels:
          severity: warning
        annotations:
          summary: "Consumer lag on {{ "{{ $labels.topic }}" }} is {{ "{{ $value }}" }} messages and growing"
          description: "The connector consumes {{ "{{ $labels.topic }}" }} slower than documents arrive, for {{ $t.consumerLagGrowingFor }}."
          runbook: "docs/MONITORING.md#vdxpconsumerlaggrowing"
      - alert: VdxpVolumeFillingUp
        expr: min by (namespace, job, connector) (vdxp_volume_free_bytes{ {{- $s -}} } / vdxp_volume_size_bytes{ {{- $s -}} }) < {{ $t.volumeFreeRatio }}
        for: 15m
        labels:
          severity: warning
        annotations:
          summary: 'The volume of file-drop folder {{ "{{ $labels.connector }}" }} has {{ "{{ $value | humanizePercentage }}" }} free'
          description: "Less than {{ $t.volumeFreeRatio }} of the file-drop volume is free. sent/ is cleaned by age (sentRetentionDays); rejected/, a waiting outbox or an inbox the legacy system does not empty fill it too."
          runbook: "docs/MONITORING.md#vdxpvolumefillingup"
      - alert: VdxpConsumerStuck
        expr: vdxp_readiness_check_ok{check="consumer", {{ $s }}} == 0
        for: {{ $t.consumerStuckFor }}
        labels:
          severity: warning
        annotations:
          summary: "The consumer of pod {{ "{{ $labels.pod }}" }} is stuck"
          description: "Readiness check consumer has failed for {{ $t.consumerStuckFor }}: in-flight work stayed at its limit (delivery.maxInFlight) longer than delivery.readiness.maxSaturatedMs, or a record keeps failing. /readyz names the record."
          runbook: "docs/MONITORING.md#vdxpconsumerstuck"
      - alert: VdxpRecordsSkipped
        expr: sum by (namespace, job) (increase(vdxp_records_skipped_total{ {{- $s -}} }[15m])) > 0
        labels:
          severity: critical
        annotations:
          summary: "Records were committed past without a dead letter in {{ "{{ $labels.job }}" }}"
          description: "A record spent its budget and could not even be written to the dead-letter topic: it was logged (topic, partition, offset, sender) and committed past. It stays at its offset only until retention."
          runbook: "docs/MONITORING.md#vdxprecordsskipped"
      - alert: VdxpCertificateExpiringSoon
        expr: (vdxp_certificate_expiry_timestamp_seconds{ {{- $s -}} } - time()) / 86400 < {{ $t.certificateExpiryDays }}
        for: 1h
        labels:
          severity: warning
        annotations:
          summary: 'The {{ "{{ $labels.kind }}" }} certificate expires in {{ "{{ $value | printf \"%.0f\" }}" }} days'
          description: "Rotate it before it expires (docs/OPERATIONS.md, Rotate certificates)."
          runbook: "docs/MONITORING.md#vdxpcertificateexpiringsoon"
      - alert: VdxpDocumentsOverdue
        expr: max by (namespace, job, direction, counterpart, stage) (vdxp_documents_overdue{ {{- $s -}} }) > 0
        for: {{ $t.documentsOverdueFor }}
        labels:
          severity: warning
        annotations:
          summary: '{{ "{{ $value | printf \"%.0f\" }}" }} {{ "{{ $labels.direction }}" }} document(s) with {{ "{{ $labels.counterpart }}" }} overdue for {{ "{{ $labels.stage }}" }}'
          description: "Past the deadline of the overdue rules (trail.overdue, working time) for {{ $t.documentsOverdueFor }}. vdxp track --overdue --counterpart {{ "{{ $labels.counterpart }}" }} lists them."
          runbook: "docs/MONITORING.md#vdxpdocumentsoverdue"
      - alert: VdxpOutgoingRejections
        expr: sum by (namespace, job, reason) (increase(vdxp_rejections_total{direction="outbound", {{ $s }}}[15m])) >= {{ $t.outgoingRejectionsPer15m }}
        for: 5m
        labels:
          severity: warning
        annotations:
          summary: '{{ "{{ $value | printf \"%.0f\" }}" }} outgoing documents rejected with {{ "{{ $labels.reason }}" }} in 15 minutes'
          description: "Documents from our own legacy system go to rejected/ instead of the backbone. signer-not-sender or signed-by-another-agency: our signing certificate is not bound to our OrganId (the signing check of /readyz says why); other reasons: the vendor's output."
          runbook: "docs/MONITORING.md#vdxpoutgoingrejections"
      - alert: VdxpTrustOptOut
        expr: max by (namespace, job, setting) (vdxp_trust_opt_out{ {{- $s -}} }) == 1
        for: 1h
        labels:
          severity: warning
        annotations:
          summary: 'Trust opt-out {{ "{{ $labels.setting }}" }} is in force'
          description: "skip_verification: nothing received is verified (a test setup, never production); revocation_best_effort: signatures without a current CRL are accepted (vdxp_revocation_unchecked_total counts them)."
          runbook: "docs/MONITORING.md#vdxptrustoptout"
      - alert: VdxpOcspResponderFailing
        expr: (sum by (namespace, job) (increase(vdxp_ocsp_requests_total{outcome=~"unavailable|stale|unauthorized-signer|bad-response", {{ $s }}}[15m])) / sum by (namespace, job) (increase(vdxp_ocsp_requests_total{ {{- $s -}} }[15m]))) > {{ $t.ocspFailedRatio }}
        for: {{ $t.ocspFailingFor }}
        labels:
          severity: warning
        annotations:
          summary: 'OCSP requests failing: {{ "{{ $value | humanizePercentage }}" }} in 15 minutes'
          description: "The OCSP responders of trust.ocsp do not answer, or answer what cannot be used (stale, wrong signer, unreadable). Under hard-fail the signatures they vouch for are refused and the trust check of /readyz fails; under soft-fail they are accepted unchecked (vdxp_revocation_unchecked_total)."
          runbook: "docs/MONITORING.md#vdxpocspresponderfailing"
{{- end }}

/**
 * Types for `parse-prometheus-text-format` (the package ships none). Only what the dcgm-exporter
 * collector reads is declared. All values are the strings the text carried.
 */
declare module 'parse-prometheus-text-format' {
  export interface PromSample {
    value?: string;
    labels?: Record<string, string>;
    timestamp_ms?: string;
    count?: string;
    sum?: string;
    buckets?: Record<string, string>;
    quantiles?: Record<string, string>;
  }
  export interface PromFamily {
    name: string;
    help: string;
    /** Upper-case: GAUGE, COUNTER, HISTOGRAM, SUMMARY or UNTYPED. */
    type: string;
    metrics: PromSample[];
  }
  /** Parses Prometheus text exposition format; throws `InvalidLineError` on a malformed line. */
  export default function parsePrometheusTextFormat(text: string): PromFamily[];
}

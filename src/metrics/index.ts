// What the service counts, in one place: requests by route and status with their latency, the
// queues in front of hashing, image decoding and mail, uploads, rate-limit refusals and database
// errors. Handlers and the pipeline bump these; GET /metrics renders them.
import { Counter, Gauge, Histogram, render } from "./prometheus.ts";

// Seconds: 1 ms (a cached GET /me) to 10 s (an upload behind a full queue).
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export type QueueDepths = { hashing: () => number; images: () => number; mail: () => number };

export class Metrics {
  readonly requests = new Counter("http_requests_total", "HTTP requests answered, by route pattern, method and status.");
  readonly latency = new Histogram("http_request_duration_seconds", "Time to answer, by route pattern and method.", LATENCY_BUCKETS);
  readonly uploads = new Counter("profile_picture_uploads_total", "Profile picture uploads, by result (stored or refused).");
  readonly rateLimited = new Counter("rate_limit_refusals_total", "Requests refused with 429, by limit.");
  readonly databaseErrors = new Counter("database_errors_total", "Database failures seen by requests, by kind (unavailable or query).");
  readonly mail = new Counter("mail_messages_total", "Mail messages, by result: sent, failed, or dropped because too many were on their way.");
  private readonly gauges: Gauge[];
  private readonly started = Date.now() / 1000;

  constructor(queues: QueueDepths) {
    this.gauges = [
      new Gauge("password_hash_queue_depth", "Password hashes running or waiting.", queues.hashing),
      new Gauge("image_queue_depth", "Uploads being decoded or waiting to be.", queues.images),
      new Gauge("mail_queue_depth", "Mail messages on their way.", queues.mail),
      new Gauge("process_resident_memory_bytes", "Resident memory of the process.", () => process.memoryUsage.rss()),
      new Gauge("process_start_time_seconds", "When the process started, in seconds since the epoch.", () => this.started),
    ];
  }

  observeRequest(route: string, method: string, status: number, seconds: number): void {
    this.requests.inc({ route, method, status: String(status) });
    this.latency.observe({ route, method }, seconds);
  }

  render(): string {
    return render([this.requests, this.latency, this.uploads, this.rateLimited, this.databaseErrors, this.mail, ...this.gauges]);
  }
}

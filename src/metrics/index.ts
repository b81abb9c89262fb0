// What the service counts, in one place: requests, latency, queues (hashing, images, mail), uploads,
// rate-limit refusals and database errors. Handlers bump these; GET /metrics renders them.
import { Counter, Gauge, Histogram, render, type HistogramSeries } from "./prometheus.ts";

// Seconds: 1 ms (a cached GET /me) to 10 s (an upload behind a full queue).
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * `management`: everything, for the management listener (METRICS_PORT, loopback by default).
 * `public`: what GET /metrics on the public listener may show (only with METRICS_TOKEN). It leaves
 * out every figure that moves after a response, because what happens after a forgot-password or
 * resend answer depends on whether the address has an account: delivery results, and the mail
 * queue's depth while a real message is being sent. Mail requests are counted when asked for instead.
 */
export type MetricsView = "management" | "public";

export type QueueDepths = { hashing: () => number; images: () => number; mail: () => number };

export class Metrics {
  readonly requests = new Counter("http_requests_total", "HTTP requests answered, by route pattern, method and status.");
  readonly latency = new Histogram("http_request_duration_seconds", "Time to answer, by route pattern and method.", LATENCY_BUCKETS);
  readonly uploads = new Counter("profile_picture_uploads_total", "Profile picture uploads, by result (stored or refused).");
  readonly rateLimited = new Counter("rate_limit_refusals_total", "Requests refused with 429, by limit.");
  readonly databaseErrors = new Counter("database_errors_total", "Database failures seen by requests, by kind (unavailable or query).");
  readonly mailRequests = new Counter("mail_requests_total", "Mail asked for by requests, by kind, counted before anyone looks up the address.");
  readonly mail = new Counter("mail_messages_total", "Mail messages, by result: sent, failed, or dropped because too many were on their way.");
  private readonly requestSeries = new Map<string, Map<string, { latency: HistogramSeries; statuses: Map<number, { value: number }> }>>();
  private readonly gauges: Gauge[];
  private readonly mailQueue: Gauge;
  // When this process started: a fact about the process, not a reading of the service's clock.
  private readonly started = performance.timeOrigin / 1000;

  constructor(queues: QueueDepths) {
    this.gauges = [
      new Gauge("password_hash_queue_depth", "Password hashes running or waiting.", queues.hashing),
      new Gauge("image_queue_depth", "Uploads being decoded or waiting to be.", queues.images),
      new Gauge("process_resident_memory_bytes", "Resident memory of the process.", () => process.memoryUsage.rss()),
      new Gauge("process_start_time_seconds", "When the process started, in seconds since the epoch.", () => this.started),
    ];
    this.mailQueue = new Gauge("mail_queue_depth", "Mail messages on their way.", queues.mail);
  }

  observeRequest(route: string, method: string, status: number, seconds: number): void {
    // Every request lands here: its series are looked up by route, method and status, not by a key built each time.
    let methods = this.requestSeries.get(route);
    if (!methods) this.requestSeries.set(route, (methods = new Map()));
    let series = methods.get(method);
    if (!series) methods.set(method, (series = { latency: this.latency.series({ route, method }), statuses: new Map() }));
    let answered = series.statuses.get(status);
    if (!answered) series.statuses.set(status, (answered = this.requests.series({ route, method, status: String(status) })));
    answered.value++;
    this.latency.record(series.latency, seconds);
  }

  render(view: MetricsView = "management"): string {
    const shared = [this.requests, this.latency, this.uploads, this.rateLimited, this.databaseErrors, this.mailRequests, ...this.gauges];
    return render(view === "public" ? shared : [...shared, this.mail, this.mailQueue]);
  }
}

// The few Prometheus primitives the service needs (labelled counters, a histogram, gauges read when
// scraped) in text format 0.0.4: small enough not to need a client library.

type Labels = Record<string, string>;

// Label values are escaped as the format asks.
const escapeLabel = (value: string) => value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
const renderLabels = (labels: Labels) => {
  const entries = Object.entries(labels);
  return entries.length === 0 ? "" : `{${entries.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`;
};
const key = (labels: Labels) => JSON.stringify(labels);
const header = (name: string, help: string, type: string) => `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`;

interface Metric {
  render(): string;
}

export class Counter implements Metric {
  private readonly values = new Map<string, { labels: Labels; value: number }>();

  constructor(
    readonly name: string,
    private readonly help: string,
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    this.series(labels).value += by;
  }

  /** The series for these labels, made on first use: a hot path keeps it and counts without a key. */
  series(labels: Labels): { value: number } {
    const k = key(labels);
    let entry = this.values.get(k);
    if (!entry) this.values.set(k, (entry = { labels, value: 0 }));
    return entry;
  }

  render(): string {
    const lines = [...this.values.values()].map(({ labels, value }) => `${this.name}${renderLabels(labels)} ${value}\n`);
    return header(this.name, this.help, "counter") + lines.join("");
  }
}

export type HistogramSeries = { labels: Labels; counts: number[]; sum: number; count: number };

export class Histogram implements Metric {
  private readonly all = new Map<string, HistogramSeries>();

  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly buckets: readonly number[],
  ) {}

  /** The series for these labels, made on first use: a hot path keeps it and records into it. */
  series(labels: Labels): HistogramSeries {
    const k = key(labels);
    let s = this.all.get(k);
    if (!s) this.all.set(k, (s = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 }));
    return s;
  }

  record(s: HistogramSeries, value: number): void {
    // Counts per bucket, made cumulative when rendered.
    const i = this.buckets.findIndex((le) => value <= le);
    if (i >= 0) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }

  render(): string {
    let out = header(this.name, this.help, "histogram");
    for (const { labels, counts, sum, count } of this.all.values()) {
      let cumulative = 0;
      this.buckets.forEach((le, i) => {
        cumulative += counts[i]!;
        out += `${this.name}_bucket${renderLabels({ ...labels, le: String(le) })} ${cumulative}\n`;
      });
      out += `${this.name}_bucket${renderLabels({ ...labels, le: "+Inf" })} ${count}\n`;
      out += `${this.name}_sum${renderLabels(labels)} ${sum}\n${this.name}_count${renderLabels(labels)} ${count}\n`;
    }
    return out;
  }
}

export class Gauge implements Metric {
  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly read: () => number,
  ) {}

  render(): string {
    return `${header(this.name, this.help, "gauge")}${this.name} ${this.read()}\n`;
  }
}

export const render = (metrics: Iterable<Metric>): string => [...metrics].map((m) => m.render()).join("");

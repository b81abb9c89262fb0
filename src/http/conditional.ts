// Conditional GET/HEAD (RFC 9110 §13): one answer to "may this be a 304?" for every route that
// sends validators, so If-None-Match lists, weak tags, `*` and If-Modified-Since work alike.

export type Validators = { etag: string; lastModified?: number };

// An entity-tag: optional W/, then a quoted string whose characters may include commas.
const ENTITY_TAG = /^\s*(W\/)?("[\x21\x23-\x7e\x80-\xff]*")\s*(?:,|$)/;

/** The opaque tags of an If-None-Match value, `"*"` for the wildcard; undefined if it does not parse. */
function entityTags(header: string): string[] | "*" | undefined {
  if (header.trim() === "*") return "*";
  const tags: string[] = [];
  let rest = header;
  while (rest.trim() !== "") {
    // Empty list members (", ,") are allowed by the list syntax (RFC 9110 §5.6.1).
    const empty = /^\s*,/.exec(rest);
    if (empty) {
      rest = rest.slice(empty[0].length);
      continue;
    }
    const match = ENTITY_TAG.exec(rest);
    if (!match) return undefined;
    tags.push(match[2]!);
    rest = rest.slice(match[0].length);
  }
  return tags;
}

// The three forms a recipient must accept (RFC 9110 §5.6.7): IMF-fixdate, RFC 850, asctime.
const HTTP_DATE = [
  /^[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT$/,
  /^[A-Z][a-z]+, \d\d-[A-Z][a-z]{2}-\d\d \d\d:\d\d:\d\d GMT$/,
  /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}$/,
];

/** Seconds since the epoch: HTTP dates have no finer grain. */
const seconds = (ms: number) => Math.floor(ms / 1000);

/** The Date header for a response sent at `now` (epoch ms). */
export const httpDate = (now: number): string => new Date(now).toUTCString();

/**
 * Last-Modified for a response sent at `now`: never later than the Date header (RFC 9110
 * §8.8.2.1), which a file written a moment ago or an S3 server's clock can otherwise produce.
 */
export function lastModifiedHeader(lastModified: number, now: number): string {
  return new Date(Math.min(seconds(lastModified), seconds(now)) * 1000).toUTCString();
}

/**
 * Whether a GET or HEAD with these preconditions gets 304 Not Modified (RFC 9110 §13.2.2):
 * If-None-Match by weak comparison, any tag of a list, `*` for any current representation; only
 * without it If-Modified-Since, against Last-Modified at one-second grain. Unparsable fields are
 * ignored, as the RFC asks, so the client gets the full answer.
 */
export function notModified(req: Request, validators: Validators, now: number): boolean {
  if (req.method !== "GET" && req.method !== "HEAD") return false;
  const ifNoneMatch = req.headers.get("if-none-match");
  if (ifNoneMatch !== null) {
    const tags = entityTags(ifNoneMatch);
    if (tags === undefined) return false;
    if (tags === "*") return true;
    const ours = validators.etag.replace(/^W\//, "");
    return tags.includes(ours);
  }
  const ifModifiedSince = req.headers.get("if-modified-since");
  if (ifModifiedSince === null || validators.lastModified === undefined) return false;
  const value = ifModifiedSince.trim();
  // asctime dates carry no zone; HTTP dates are all GMT.
  const since = Date.parse(HTTP_DATE[2]!.test(value) ? `${value} GMT` : value);
  // Not one HTTP-date (a list, garbage): ignored (RFC 9110 §13.1.3).
  if (Number.isNaN(since) || !HTTP_DATE.some((form) => form.test(value))) return false;
  return Math.min(seconds(validators.lastModified), seconds(now)) <= seconds(since);
}

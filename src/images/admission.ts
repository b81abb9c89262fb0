// Bounds the upload bodies in flight, over all and per account, before a byte of a body is read:
// the decode queue bounds only bodies already read, so held uploads could fill memory (issue 14.2).
import { CodedError } from "../errors.ts";

export class UploadAdmission {
  private total = 0;
  private readonly perUser = new Map<number, number>();

  constructor(
    readonly maxTotal: number,
    readonly maxPerUser: number,
  ) {}

  get inFlight(): number {
    return this.total;
  }

  /** Takes a place for `userId`'s upload and returns its release, or throws server_busy (503) at once when none is free. */
  enter(userId: number): () => void {
    const mine = this.perUser.get(userId) ?? 0;
    if (this.total >= this.maxTotal || mine >= this.maxPerUser) {
      const detail =
        mine >= this.maxPerUser
          ? `At most ${this.maxPerUser} uploads per account may be in progress at once; try again shortly.`
          : "Too many uploads are in progress; try again shortly.";
      throw new CodedError("server_busy", detail, { headers: { "Retry-After": "1" } });
    }
    this.total++;
    this.perUser.set(userId, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const left = (this.perUser.get(userId) ?? 1) - 1;
      if (left > 0) this.perUser.set(userId, left);
      else this.perUser.delete(userId);
    };
  }
}

// The results panel's side of the webview conversation, without vscode (so tests drive it): nothing is
// posted before the page says "ready"; a hidden page is torn down by VS Code (no retainContextWhenHidden),
// so hiding it means "not ready" until the re-created page says "ready" again and gets the whole state,
// live losses and progress included: the panel is correct when hidden and reopened during a run.
import type { ResultsState, ToWebview } from '../protocol';

/** Fewest milliseconds between two state posts while training. */
export const STATE_INTERVAL_MS = 250;

export class PanelChannel {
  private ready = false;
  private pending?: ReturnType<typeof setTimeout>;
  private lastPost = 0;
  private pendingFocus?: string;

  constructor(private readonly send: (m: ToWebview) => void, private readonly state: () => ResultsState, private readonly now: () => number = Date.now) {}

  get isReady(): boolean { return this.ready; }

  /** The page was hidden (and so destroyed): hold posts until it is back. */
  hidden(): void {
    this.ready = false;
    this.cancelPending();
  }

  /** The page (new or re-created) is listening: the whole state now, then a focus asked for meanwhile. */
  onReady(): void {
    this.ready = true;
    this.postState(true);
    if (this.pendingFocus) { this.send({ type: 'focusRun', runId: this.pendingFocus }); this.pendingFocus = undefined; }
  }

  /** Posts the whole state (throttled to ~4 per second while training; `now` skips the throttle). */
  postState(now = false): void {
    if (!this.ready) return;
    const send = () => { this.pending = undefined; this.lastPost = this.now(); this.send({ type: 'state', state: this.state() }); };
    if (now) { this.cancelPending(); send(); return; }
    if (this.pending) return;
    this.pending = setTimeout(send, Math.max(0, STATE_INTERVAL_MS - (this.now() - this.lastPost)));
  }

  post(m: ToWebview): void {
    if (!this.ready) {
      if (m.type === 'focusRun') this.pendingFocus = m.runId;
      return;
    }
    this.send(m);
  }

  dispose(): void { this.cancelPending(); }

  private cancelPending(): void {
    if (this.pending) clearTimeout(this.pending);
    this.pending = undefined;
  }
}

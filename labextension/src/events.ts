/**
 * The events websocket (`{base_url}aml/api/v1/events`): run status changes and the log lines of
 * followed runs, kept open with reconnects and a growing back-off. After a reconnect the panels
 * fetch again what they show (events sent while the socket was down are not replayed). When the
 * socket cannot be had at all, `fallback` turns true and the panels poll instead.
 *
 * The socket is made by a factory so `node --test` drives it without a browser.
 */
import { ISignal, Signal } from '@lumino/signaling';

export interface IStatusEvent {
  type: 'status';
  run_id: string;
  status: string;
  error: string | null;
}

export interface ILogEvent {
  type: 'log';
  run_id: string;
  lines: string[];
}

/** The part of a WebSocket used here. */
export interface ISocketLike {
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(): void;
}

export type SocketFactory = () => ISocketLike;

export interface IEventStreamOptions {
  /** First wait before a reconnect, doubled on each failure up to `maxDelayMs`. */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Failed connects in a row (never opened) after which `fallback` turns true. */
  fallbackAfter?: number;
}

export class EventStream {
  constructor(
    private readonly factory: SocketFactory,
    options: IEventStreamOptions = {}
  ) {
    this.minDelayMs = options.minDelayMs ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 30_000;
    this.fallbackAfter = options.fallbackAfter ?? 3;
  }

  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  readonly fallbackAfter: number;

  get status(): ISignal<this, IStatusEvent> {
    return this._status;
  }

  get log(): ISignal<this, ILogEvent> {
    return this._log;
  }

  /** Emits true on every (re)connect, false on every drop. */
  get connection(): ISignal<this, boolean> {
    return this._connection;
  }

  get connected(): boolean {
    return this._connected;
  }

  /** No socket could be opened lately: poll instead (turns false again once one opens). */
  get fallback(): boolean {
    return this._failures >= this.fallbackAfter;
  }

  /** How long the next reconnect waits. */
  get nextDelayMs(): number {
    return Math.min(this.maxDelayMs, this.minDelayMs * 2 ** Math.min(this._attempt, 16));
  }

  start(): void {
    if (this._socket || this._disposed) {
      return;
    }
    let socket: ISocketLike;
    try {
      socket = this.factory();
    } catch {
      this._scheduleReconnect(false);
      return;
    }
    this._socket = socket;
    let opened = false;
    socket.onopen = () => {
      opened = true;
      this._connected = true;
      this._attempt = 0;
      this._failures = 0;
      for (const id of this._followed) {
        socket.send(JSON.stringify({ follow: id }));
      }
      this._connection.emit(true);
    };
    socket.onmessage = ev => this._onMessage(ev.data);
    socket.onerror = () => undefined; // onclose follows and says it all
    socket.onclose = () => {
      if (this._socket !== socket) {
        return;
      }
      this._socket = null;
      const was = this._connected;
      this._connected = false;
      if (was) {
        this._connection.emit(false);
      }
      this._scheduleReconnect(opened);
    };
  }

  /** Log lines of this run come as `log` events (sent again after every reconnect). */
  follow(id: string): void {
    if (!this._followed.has(id)) {
      this._followed.add(id);
      this._send({ follow: id });
    }
  }

  unfollow(id: string): void {
    if (this._followed.delete(id)) {
      this._send({ unfollow: id });
    }
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    if (this._timer !== null) {
      clearTimeout(this._timer);
    }
    const socket = this._socket;
    this._socket = null;
    socket?.close();
    Signal.clearData(this);
  }

  private _send(message: unknown): void {
    if (this._socket && this._connected) {
      this._socket.send(JSON.stringify(message));
    }
  }

  private _onMessage(data: unknown): void {
    let event: { type?: string };
    try {
      event = JSON.parse(String(data));
    } catch {
      return;
    }
    if (event && event.type === 'status' && typeof (event as IStatusEvent).run_id === 'string') {
      this._status.emit(event as IStatusEvent);
    } else if (event && event.type === 'log' && Array.isArray((event as ILogEvent).lines)) {
      this._log.emit(event as ILogEvent);
    }
  }

  private _scheduleReconnect(opened: boolean): void {
    if (this._disposed) {
      return;
    }
    if (!opened) {
      this._failures++;
    }
    const delay = this.nextDelayMs;
    this._attempt++;
    this._timer = setTimeout(() => {
      this._timer = null;
      this.start();
    }, delay);
  }

  private _socket: ISocketLike | null = null;
  private _connected = false;
  private _attempt = 0;
  private _failures = 0;
  private _timer: ReturnType<typeof setTimeout> | null = null;
  private _followed = new Set<string>();
  private _disposed = false;
  private _status = new Signal<this, IStatusEvent>(this);
  private _log = new Signal<this, ILogEvent>(this);
  private _connection = new Signal<this, boolean>(this);
}

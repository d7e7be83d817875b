/**
 * The Network pane of the Room view: the tab connection's Engine.IO handshake and, while the
 * pane is open, every packet in and out. Collapsed by default; while closed it listens to
 * nothing and keeps no packet (closing it stops the capture and forgets it).
 */
import type { IDisposable } from '@lumino/disposable';

import { trans } from '../i18n';
import { matchesFilter, PacketLog } from '../inspector/packetLog';
import type { IPacketRecord } from '../inspector/packets';
import type { ICollabConnection, INetworkTap, IRawPacket, TransportMode } from '../tokens';
import { atBottom, h } from './dom';
import { packetRow, renderHandshake, updateRtt } from './packetRows';

export class NetworkPane {
  /**
   * @param connection the tab's connection (its handshake, packets and transport).
   * @param onTransport asked to switch the tab's transports (the Room's `transport` trait).
   */
  constructor(connection: ICollabConnection, onTransport: (mode: TransportMode) => void) {
    this._connection = connection;
    this._onTransport = onTransport;
    this._handshake = h('div', { className: 'jp-CollabNet-handshake', testid: 'handshake' });
    this._switch = button('transport-switch', '', () => this._toggleTransport());
    this._filter = h('input', {
      className: 'jp-CollabNet-filter',
      testid: 'packet-filter',
      attrs: {
        type: 'search',
        placeholder: trans.__('filter: event or type'),
        'aria-label': trans.__('Filter packets by event name or type'),
        'data-lm-suppress-shortcuts': 'true'
      }
    });
    this._pause = button('packet-pause', trans.__('Pause'), () => this._setPaused(!this._paused));
    this._count = h('span', { className: 'jp-CollabNet-count', testid: 'packet-count' });
    this._status = h('span', { className: 'jp-CollabNet-status', attrs: { role: 'status' } });
    this._list = h('ol', {
      className: 'jp-CollabNet-list',
      testid: 'packet-list',
      attrs: { 'aria-label': trans.__('Packets'), tabindex: '0' }
    });
    const toolbar = h(
      'div',
      { className: 'jp-CollabNet-toolbar' },
      this._switch,
      this._filter,
      this._pause,
      button('packet-clear', trans.__('Clear'), () => this._clear()),
      button('packet-export', trans.__('Export JSON'), () => this._export()),
      button('packet-copy', trans.__('Copy JSON'), () => void this._copy()),
      this._count,
      this._status
    );
    const hint = h('p', {
      className: 'jp-CollabNet-hint',
      text: trans.__(
        'Keeps the last %1 packets. The transport switch applies to this whole tab: every ' +
          'Room widget shares its one connection. Engine.IO v4: the server pings, this tab ' +
          'answers pong. Closing the pane stops the capture and forgets it.',
        this._log.limit
      )
    });
    const summary = h('summary', {
      className: 'jp-CollabRoom-sectionTitle jp-CollabNet-summary',
      testid: 'network-toggle',
      text: trans.__('Network')
    });
    this.node = h(
      'details',
      { className: 'jp-CollabNet', testid: 'network-pane' },
      summary,
      h('div', { className: 'jp-CollabNet-body' }, this._handshake, toolbar, this._list, hint)
    );
    this._filter.addEventListener('input', this._onFilter);
    this.node.addEventListener('toggle', this._onToggle);
    this._renderCount();
  }

  readonly node: HTMLDetailsElement;

  /** Whether the pane is open (and capturing, unless paused). */
  get isOpen(): boolean {
    return this._capture !== null;
  }

  /** The captured packets, oldest first (tests). */
  get records(): ReadonlyArray<IPacketRecord> {
    return this._log.records;
  }

  /** Open or close the pane (as a click on its title does). */
  setOpen(open: boolean): void {
    this.node.open = open;
    this._onToggle();
  }

  dispose(): void {
    this._close();
    this._filter.removeEventListener('input', this._onFilter);
    this.node.removeEventListener('toggle', this._onToggle);
  }

  // ---- private ----

  private _onToggle = (): void => {
    if (this.node.open && !this._capture) {
      this._open();
    } else if (!this.node.open && this._capture) {
      this._close();
    }
  };

  private _open(): void {
    const tap = this._connection.network;
    this._capture = tap.capture();
    tap.packet.connect(this._onPacket, this);
    tap.handshakeChanged.connect(this._renderStatus, this);
    this._connection.statusChanged.connect(this._renderStatus, this);
    this.node.dataset.capturing = 'true';
    this._renderStatus();
  }

  private _close(): void {
    if (!this._capture) {
      return;
    }
    const tap = this._connection.network;
    tap.packet.disconnect(this._onPacket, this);
    tap.handshakeChanged.disconnect(this._renderStatus, this);
    this._connection.statusChanged.disconnect(this._renderStatus, this);
    this._capture.dispose();
    this._capture = null;
    this.node.dataset.capturing = 'false';
    this._setPaused(false);
    this._clear();
  }

  private _onPacket(_: INetworkTap, raw: IRawPacket): void {
    if (this._paused) {
      this._skipped++;
      this._renderCount();
      return;
    }
    const { record, matched, dropped } = this._log.add(raw);
    for (const gone of dropped) {
      this._rows.get(gone.id)?.remove();
      this._rows.delete(gone.id);
    }
    const follow = atBottom(this._list);
    const row = packetRow(record);
    row.hidden = !matchesFilter(record, this._filter.value);
    this._rows.set(record.id, row);
    this._list.append(row);
    if (matched) {
      const other = this._rows.get(matched.id);
      if (other) {
        updateRtt(other, matched);
      }
    }
    if (follow) {
      this._list.scrollTop = this._list.scrollHeight;
    }
    this._renderCount();
  }

  private _renderStatus(): void {
    const { transport, transportMode } = this._connection;
    renderHandshake(this._handshake, this._connection.network.handshake, transport);
    const polling = transportMode === 'polling';
    this._switch.textContent = polling
      ? trans.__('Allow WebSocket upgrade')
      : trans.__('Use long-polling');
    this._switch.title = polling
      ? trans.__('Reconnect this tab on long-polling, then let it upgrade to WebSocket')
      : trans.__('Reconnect this tab on HTTP long-polling only');
    this._switch.setAttribute('aria-pressed', String(polling));
    this.node.dataset.transport = transport;
    this.node.dataset.mode = transportMode;
  }

  private _toggleTransport(): void {
    const mode: TransportMode =
      this._connection.transportMode === 'polling' ? 'websocket' : 'polling';
    this._onTransport(mode);
  }

  private _setPaused(paused: boolean): void {
    this._paused = paused;
    this._pause.textContent = paused ? trans.__('Resume') : trans.__('Pause');
    this._pause.setAttribute('aria-pressed', String(paused));
    this._renderCount();
  }

  private _clear(): void {
    this._log.clear();
    this._rows.clear();
    this._list.textContent = '';
    this._skipped = 0;
    this._renderCount();
  }

  private _onFilter = (): void => {
    const filter = this._filter.value;
    for (const record of this._log.records) {
      const row = this._rows.get(record.id);
      if (row) {
        row.hidden = !matchesFilter(record, filter);
      }
    }
  };

  private _exportText(): string {
    return JSON.stringify(this._log.toJSON(this._connection.network.handshake), null, 2);
  }

  private _export(): void {
    const blob = new Blob([this._exportText()], { type: 'application/json' });
    const url = URL.createObjectURL(blob);
    const a = h('a', { attrs: { href: url, download: `collab-network-${Date.now()}.json` } });
    a.hidden = true;
    document.body.append(a);
    a.click();
    a.remove();
    window.setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  private async _copy(): Promise<void> {
    try {
      await navigator.clipboard.writeText(this._exportText());
      this._status.textContent = trans.__('copied');
    } catch {
      this._status.textContent = trans.__('copy refused by the browser: use Export JSON');
    }
  }

  private _renderCount(): void {
    const n = this._log.records.length;
    const parts = [
      trans._n('%1 packet (last %2 kept)', '%1 packets (last %2 kept)', n, this._log.limit)
    ];
    if (this._log.dropped) {
      parts.push(trans._n('%1 older dropped', '%1 older dropped', this._log.dropped));
    }
    if (this._paused) {
      parts.push(trans.__('paused'));
    }
    if (this._skipped) {
      parts.push(
        trans._n('%1 not captured while paused', '%1 not captured while paused', this._skipped)
      );
    }
    this._count.textContent = parts.join(' · ');
    this.node.dataset.packetCount = String(n);
  }

  private _connection: ICollabConnection;
  private _onTransport: (mode: TransportMode) => void;
  private _log = new PacketLog();
  private _rows = new Map<number, HTMLLIElement>();
  private _capture: IDisposable | null = null;
  private _paused = false;
  private _skipped = 0;
  private _handshake: HTMLElement;
  private _switch: HTMLButtonElement;
  private _filter: HTMLInputElement;
  private _pause: HTMLButtonElement;
  private _count: HTMLElement;
  private _status: HTMLElement;
  private _list: HTMLElement;
}

function button(testid: string, text: string, onClick: () => void): HTMLButtonElement {
  const b = h('button', {
    className: 'jp-CollabNet-button',
    testid,
    text,
    attrs: { type: 'button' }
  });
  b.addEventListener('click', onClick);
  return b;
}

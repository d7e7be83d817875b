/**
 * CellWatch: which elements (notebook cells) are on screen and how tall others (their input
 * areas) are, told by an IntersectionObserver and a ResizeObserver, so that the renderer
 * never reads layout for either. Both observers report asynchronously, after layout, at no
 * cost to the page; a change calls `onChange` (the renderer schedules a frame).
 *
 * Without the observers (old browsers), or until they report, every element counts as
 * visible and heights are unknown (the caller estimates).
 */
import { IDisposable } from '@lumino/disposable';

/** How far beyond the viewport a cell still counts as visible (px): drawn before it shows. */
export const VISIBLE_MARGIN = 200;

export class CellWatch implements IDisposable {
  /** @param onChange an element's visibility or height changed. */
  constructor(onChange: (element: Element) => void) {
    this._onChange = onChange;
    if (typeof IntersectionObserver !== 'undefined') {
      this._intersections = new IntersectionObserver(this._onIntersections, {
        root: null,
        rootMargin: `${VISIBLE_MARGIN}px 0px`,
        threshold: 0
      });
    }
    if (typeof ResizeObserver !== 'undefined') {
      this._sizes = new ResizeObserver(this._onSizes);
    }
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /**
   * Whether `element` is on screen (or near it). An element asked about for the first time
   * is watched from then on and counts as visible until the observer tells otherwise (its
   * first report comes in the next rendering step; `onChange` when it says not visible).
   */
  visible(element: Element): boolean {
    if (!this._intersections) {
      return true;
    }
    const known = this._visible.get(element);
    if (known === undefined) {
      this._visible.set(element, true);
      this._intersections.observe(element);
      return true;
    }
    return known;
  }

  /** The border-box height of `element` as last observed (watched from the first ask on). */
  height(element: Element): number | undefined {
    if (!this._sizes) {
      return undefined;
    }
    if (!this._watched.has(element)) {
      this._watched.add(element);
      this._sizes.observe(element);
    }
    return this._heights.get(element);
  }

  /** Stop watching `element` (a cell that went away). */
  forget(element: Element): void {
    if (this._visible.delete(element)) {
      this._intersections?.unobserve(element);
    }
    if (this._watched.delete(element)) {
      this._sizes?.unobserve(element);
      this._heights.delete(element);
    }
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._intersections?.disconnect();
    this._sizes?.disconnect();
    this._visible.clear();
    this._watched.clear();
    this._heights.clear();
  }

  private _onIntersections = (entries: IntersectionObserverEntry[]): void => {
    for (const entry of entries) {
      const before = this._visible.get(entry.target);
      if (before === undefined) {
        continue; // forgotten meanwhile
      }
      // A cell detached by JupyterLab's windowing is reported as not intersecting.
      const now = entry.isIntersecting;
      if (now !== before) {
        this._visible.set(entry.target, now);
        this._onChange(entry.target);
      }
    }
  };

  private _onSizes = (entries: ResizeObserverEntry[]): void => {
    for (const entry of entries) {
      if (!this._watched.has(entry.target)) {
        continue;
      }
      const box = entry.borderBoxSize?.[0];
      const height = Math.round(box ? box.blockSize : entry.contentRect.height);
      if (this._heights.get(entry.target) !== height) {
        this._heights.set(entry.target, height);
        this._onChange(entry.target);
      }
    }
  };

  private _onChange: (element: Element) => void;
  private _intersections: IntersectionObserver | null = null;
  private _sizes: ResizeObserver | null = null;
  private _visible = new Map<Element, boolean>();
  private _watched = new Set<Element>();
  private _heights = new Map<Element, number>();
  private _disposed = false;
}

/**
 * Metric charts on canvas with uPlot: small, fast with 10,000-point series, no dependencies.
 * Colours are read from the JupyterLab theme's CSS variables and read again when the theme changes.
 */
import uPlot from 'uplot';

const SERIES_VARS = [
  '--jp-brand-color1',
  '--jp-warn-color1',
  '--jp-success-color1',
  '--jp-error-color1',
  '--jp-accent-color1',
  '--jp-brand-color3',
  '--jp-warn-color3',
  '--jp-success-color3',
  '--jp-error-color3',
  '--jp-accent-color3'
];

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

/** The theme's colours for charts: text, grid lines and one per series. */
export function themeColors(): { text: string; grid: string; series: string[] } {
  return {
    text: cssVar('--jp-ui-font-color1', '#333'),
    grid: cssVar('--jp-border-color2', '#ddd'),
    series: SERIES_VARS.map((v, i) => cssVar(v, ['#1976d2', '#f57c00', '#388e3c', '#d32f2f', '#7b1fa2'][i % 5]))
  };
}

/** Exponential moving average, as TensorBoard's smoothing slider does (0: none). */
export function smooth(values: (number | null)[], weight: number): (number | null)[] {
  if (weight <= 0) {
    return values;
  }
  let last: number | null = null;
  return values.map(v => {
    if (v === null || !isFinite(v)) {
      return v;
    }
    last = last === null ? v : last * weight + (1 - weight) * v;
    return last;
  });
}

export interface ILine {
  label: string;
  x: number[];
  y: (number | null)[];
}

/** One chart of several lines over one x axis (steps or seconds), drawn into `host`. */
export class LineChart {
  constructor(
    private readonly host: HTMLElement,
    private readonly title: string
  ) {}

  /** Draws (again) with the current theme colours. Lines may have different x values. */
  draw(lines: ILine[], xLabel: string, time: boolean, smoothing = 0): void {
    this.destroy();
    this._last = { lines, xLabel, time, smoothing };
    const colors = themeColors();
    const xs = lines.map(l => [l.x, smooth(l.y, smoothing)] as uPlot.AlignedData);
    const data = xs.length === 1 ? xs[0] : uPlot.join(xs as [number[], number[]][]);
    const axis = { stroke: colors.text, grid: { stroke: colors.grid, width: 1 }, ticks: { stroke: colors.grid } };
    const width = Math.max(240, this.host.clientWidth || 480);
    this._plot = new uPlot(
      {
        title: this.title,
        width,
        height: 220,
        scales: { x: { time } },
        axes: [{ ...axis, label: xLabel }, axis],
        legend: { show: lines.length <= 20 },
        series: [
          { label: xLabel },
          ...lines.map((l, i) => ({ label: l.label, stroke: colors.series[i % colors.series.length], width: 1.5, spanGaps: true }))
        ]
      },
      data as uPlot.AlignedData,
      this.host
    );
    this.host.dataset.drawn = 'true';
  }

  /** Draws again (a theme change, a resize). */
  redraw(): void {
    if (this._last) {
      const { lines, xLabel, time, smoothing } = this._last;
      this.draw(lines, xLabel, time, smoothing);
    }
  }

  destroy(): void {
    this._plot?.destroy();
    this._plot = null;
  }

  private _plot: uPlot | null = null;
  private _last: { lines: ILine[]; xLabel: string; time: boolean; smoothing: number } | null = null;
}

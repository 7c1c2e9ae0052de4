// Charts through Chart.js (tree-shaken to the pieces used). Every chart is
// a canvas with role="img" and a sentence for screen readers, followed by
// its numbers as a table one click away.
import {
  Chart, BarController, LineController, BarElement, LineElement, PointElement,
  CategoryScale, LinearScale, Tooltip, Legend, Filler,
} from 'chart.js';
import { h, table } from './format.js';

Chart.register(BarController, LineController, BarElement, LineElement, PointElement,
  CategoryScale, LinearScale, Tooltip, Legend, Filler);
Chart.defaults.font.family = getComputedStyle(document.documentElement).fontFamily;
Chart.defaults.animation = false;

export const colors = { primary: '#2f6fde', muted: '#9bb5e8', red: '#c62828', green: '#2e7d32', grey: '#888' };

// chart appends a figure with the chart and its data table to parent.
export function chart(parent, { label, summary, config, columns, rows, height = 260 }) {
  const canvas = h('canvas', { role: 'img', 'aria-label': `${label}. ${summary}` });
  const box = h('div', { class: 'chart-box' }, canvas);
  box.style.height = `${height}px`; // through the CSSOM: the CSP allows no inline style attributes
  const fig = h('figure', { class: 'chart' },
    h('figcaption', {}, label),
    box,
    h('details', {}, h('summary', {}, 'Show the numbers'), table(columns, rows)));
  parent.append(fig);
  config.options = { maintainAspectRatio: false, responsive: true, ...config.options };
  return new Chart(canvas, config);
}

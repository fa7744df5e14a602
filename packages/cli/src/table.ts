import { type Terminal, visibleLength } from './terminal.js';

/**
 * Renders rows as aligned columns with a dim header; the last column is not padded so that long
 * metadata does not leave trailing blanks.
 */
export function renderTable(
  out: Terminal,
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string[] {
  const widths = header.map((title, column) =>
    Math.max(visibleLength(title), ...rows.map((row) => visibleLength(row[column] ?? ''))),
  );
  const format = (cells: readonly string[]) =>
    cells
      .map((cell, column) =>
        column === cells.length - 1 ? cell : cell + ' '.repeat(widths[column]! - visibleLength(cell)),
      )
      .join('  ')
      .trimEnd();
  return [out.paint('bold', format(header)), ...rows.map(format)];
}

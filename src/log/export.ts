/**
 * Static export of a log in the C2SP tlog-tiles layout (checkpoint, tiles, entry bundles), for
 * any web server or CDN. Exports exactly the tree of the stored checkpoint: every full tile and
 * the partial tiles (`.p/W`) of that size, so a tlog-tiles client reads the same data from the
 * files as from the running log.
 */
import { fromUtf8 } from '../core/bytes.js';
import {
  encodeEntryBundle,
  entriesPath,
  TILE_WIDTH,
  tilePath,
  tilesForSize,
} from '../merkle/tiles.js';
import type { LogStorage } from './storage/types.js';

export async function exportTiles(
  storage: LogStorage,
  write: (path: string, data: Uint8Array | string) => Promise<void>,
): Promise<{ size: number; files: number }> {
  const st = await storage.treeState();
  if (st.checkpoint === undefined) return { size: 0, files: 0 };
  let files = 0;
  for (const t of tilesForSize(st.size)) {
    const [data] = await storage.readTiles([{ level: t.level, index: t.index }]);
    if (data === undefined || data.length < t.width * 32) {
      throw new Error(`tile ${t.level}/${t.index} is missing from storage`);
    }
    await write(tilePath(t), data.subarray(0, t.width * 32));
    files++;
    if (t.level === 0) {
      const entries = await storage.readEntries(t.index * TILE_WIDTH, t.width);
      await write(entriesPath(t.index, t.width), encodeEntryBundle(entries));
      files++;
    }
  }
  // The checkpoint last, so a reader never sees a checkpoint whose tiles are not there yet.
  await write('checkpoint', fromUtf8(st.checkpoint));
  return { size: st.size, files: files + 1 };
}

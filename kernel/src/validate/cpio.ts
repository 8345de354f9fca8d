/**
 * The initramfs archive format: cpio "newc" (070701), which the kernel's init/initramfs.c
 * unpacks into rootfs before it runs /init. Only what the guest needs: directories, regular
 * files and character devices, owned by root. Written here rather than by cpio(1) so that the
 * archive does not depend on the build machine's umask, mtimes or inode numbers: the same inputs
 * give the same bytes (and the same cache key).
 */
import { gzipSync } from "node:zlib";

export type CpioEntry =
  | { readonly kind: "dir"; readonly path: string; readonly mode?: number }
  | {
      readonly kind: "file";
      readonly path: string;
      readonly data: Uint8Array;
      readonly mode?: number;
    }
  | {
      readonly kind: "chardev";
      readonly path: string;
      readonly major: number;
      readonly minor: number;
      readonly mode?: number;
    };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFCHR = 0o020000;

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, "0");
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

/** One newc record: header, name (NUL-terminated, padded to 4), data (padded to 4). */
function record(
  ino: number,
  name: string,
  mode: number,
  data: Uint8Array,
  rdev: readonly [number, number],
): Buffer {
  const nameBytes = Buffer.from(`${name}\0`, "utf8");
  const header =
    "070701" +
    [
      ino,
      mode,
      0, // uid
      0, // gid
      mode & S_IFDIR ? 2 : 1, // nlink
      0, // mtime
      data.length,
      0, // dev major
      0, // dev minor
      rdev[0],
      rdev[1],
      nameBytes.length,
      0, // check
    ]
      .map(hex8)
      .join("");
  const head = Buffer.from(header, "ascii");
  return Buffer.concat([
    head,
    nameBytes,
    Buffer.alloc(pad4(head.length + nameBytes.length)),
    Buffer.from(data),
    Buffer.alloc(pad4(data.length)),
  ]);
}

/** The archive of `entries` (parents before children), gzip-compressed. */
export function makeInitramfs(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  for (const e of entries) {
    const path = e.path.replace(/^\/+/, "");
    if (path === "" || path.split("/").includes(".."))
      throw new Error(`initramfs: bad path ${JSON.stringify(e.path)}`);
    if (e.kind === "dir")
      parts.push(record(ino++, path, S_IFDIR | (e.mode ?? 0o755), new Uint8Array(0), [0, 0]));
    else if (e.kind === "file")
      parts.push(record(ino++, path, S_IFREG | (e.mode ?? 0o644), e.data, [0, 0]));
    else
      parts.push(
        record(ino++, path, S_IFCHR | (e.mode ?? 0o600), new Uint8Array(0), [e.major, e.minor]),
      );
  }
  parts.push(record(0, "TRAILER!!!", 0, new Uint8Array(0), [0, 0]));
  return gzipSync(Buffer.concat(parts), { level: 6 });
}

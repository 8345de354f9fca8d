/**
 * What `mmulab validate` needs from the machine, each from a Debian package: the kernel being
 * compared (linux-image-amd64: /boot/vmlinuz-<release> and its /boot/config-<release>),
 * qemu-system-x86_64 (qemu-system-x86), a statically linked busybox for the guest's /init
 * (busybox-static) and a C compiler that links statically (gcc, libc6-dev). A missing one is a
 * MissingPackageError naming the package and the install command — never a silent skip.
 */
import { execFileSync } from "node:child_process";
import { accessSync, closeSync, constants, openSync, readSync, statSync } from "node:fs";
import { delimiter, join } from "node:path";
import { MmulabError, ParameterError } from "../sim/errors.js";

export class MissingPackageError extends MmulabError {
  constructor(
    readonly debianPackage: string,
    readonly what: string,
  ) {
    super(
      `mmulab validate needs the Debian package "${debianPackage}" (${what}); install it with: ` +
        `apt-get install -y --no-install-recommends ${debianPackage}`,
    );
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** `name` on PATH (or an absolute path), executable; null if not found. */
export function which(name: string): string | null {
  const dirs = name.includes("/") ? [""] : (process.env.PATH ?? "/usr/bin:/bin").split(delimiter);
  for (const d of dirs) {
    const p = d === "" ? name : join(d, name);
    try {
      accessSync(p, constants.X_OK);
      if (isFile(p)) return p;
    } catch {
      // not here
    }
  }
  return null;
}

/** Whether an ELF executable asks for a program interpreter (is dynamically linked). */
function elfHasInterpreter(path: string): boolean {
  const fd = openSync(path, "r");
  try {
    const h = Buffer.alloc(64);
    readSync(fd, h, 0, 64, 0);
    if (h.readUInt32BE(0) !== 0x7f454c46 || h[4] !== 2) return true; // not ELF64: not usable
    const phoff = Number(h.readBigUInt64LE(32));
    const phentsize = h.readUInt16LE(54);
    const phnum = h.readUInt16LE(56);
    const ph = Buffer.alloc(phentsize * phnum);
    readSync(fd, ph, 0, ph.length, phoff);
    for (let i = 0; i < phnum; i++) if (ph.readUInt32LE(i * phentsize) === 3) return true; // PT_INTERP
    return false;
  } finally {
    closeSync(fd);
  }
}

/** What a kernel release looks like (uname -r): no "/", no "..". */
export const KERNEL_RELEASE = /^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/;

export interface GuestKernel {
  readonly release: string;
  readonly image: string;
  readonly config: string;
}

/**
 * The kernel linux-image-amd64 depends on (its release from dpkg), or the one named by
 * `release`, with its image and configuration under `bootDir`.
 */
export function findKernel(opts: { release?: string; bootDir?: string } = {}): GuestKernel {
  const boot = opts.bootDir ?? "/boot";
  let release = opts.release;
  // a file name under /boot, never a path out of it
  if (release !== undefined && !KERNEL_RELEASE.test(release))
    throw new ParameterError(
      "release",
      release,
      "a kernel release like 6.1.0-57-amd64",
      "findKernel",
    );
  if (release === undefined) {
    let depends: string;
    try {
      depends = execFileSync("dpkg-query", ["-W", "-f=${Depends}", "linux-image-amd64"], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      });
    } catch {
      throw new MissingPackageError(
        "linux-image-amd64",
        "the Debian kernel the model is compared with",
      );
    }
    const m = /linux-image-(\S+?)(?:-unsigned)?(?:\s|,|$)/.exec(depends);
    if (!m)
      throw new MissingPackageError(
        "linux-image-amd64",
        `no kernel package in its dependencies "${depends}"`,
      );
    release = m[1]!;
  }
  const image = join(boot, `vmlinuz-${release}`);
  const config = join(boot, `config-${release}`);
  if (!isFile(image)) throw new MissingPackageError("linux-image-amd64", `${image} is missing`);
  if (!isFile(config)) throw new MissingPackageError("linux-image-amd64", `${config} is missing`);
  return { release, image, config };
}

export interface GuestTools {
  readonly qemu: string;
  readonly busybox: string;
  readonly gcc: string;
}

/** qemu-system-x86_64, a static busybox and gcc with a static libc, or the package to install. */
export function findTools(): GuestTools {
  const qemu = which("qemu-system-x86_64");
  if (qemu === null)
    throw new MissingPackageError("qemu-system-x86", "qemu-system-x86_64 is not on PATH");
  const busybox = "/bin/busybox";
  if (!isFile(busybox) || elfHasInterpreter(busybox))
    throw new MissingPackageError(
      "busybox-static",
      isFile(busybox) ? `${busybox} is dynamically linked` : `${busybox} is missing`,
    );
  const gcc = which("gcc");
  if (gcc === null) throw new MissingPackageError("gcc", "gcc is not on PATH");
  const libc = ["/usr/lib/x86_64-linux-gnu/libc.a", "/usr/lib/libc.a"].find(isFile);
  if (libc === undefined)
    throw new MissingPackageError(
      "libc6-dev",
      "libc.a, needed to link the workload program statically",
    );
  return { qemu, busybox, gcc };
}

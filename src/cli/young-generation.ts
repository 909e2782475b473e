/**
 * The young generation of a server process's heap while it starts. Loading the modules of
 * `serve` or `start` allocates fast enough that V8 grows the new space to its largest
 * (two 16 MiB semi-spaces), and an idle server keeps it: a quarter of its idle RSS. Held at its
 * smallest while the process starts (a few more scavenges, a few per cent of start-up CPU) and
 * let grow again once it serves, so that a server under load gets V8's default.
 */
import { setFlagsFromString } from 'node:v8';

/** V8's `--semi-space-growth-factor` (Node 20: 2). */
const DEFAULT_GROWTH_FACTOR = 2;

/** Before the server's modules load: the new space does not grow. */
export function holdYoungGeneration(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
}

/** Once the server serves: the new space grows as V8 sees fit. */
export function releaseYoungGeneration(): void {
  setFlagsFromString(`--semi-space-growth-factor=${DEFAULT_GROWTH_FACTOR}`);
}

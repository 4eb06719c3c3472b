// The live map's frame times: the last frames' drawing time and how many frames ran, for the map
// benchmark (read through WebDriver) and nothing else. Recording costs one array write a frame;
// an idle map records nothing because it draws nothing.
const SIZE = 600;

class FrameStats {
  private times = new Float64Array(SIZE);
  private next = 0;
  /** Frames drawn since the app started. */
  frames = 0;
  /** When the last frame ran (performance.now()), 0 if none. */
  lastAt = 0;

  record(ms: number) {
    this.times[this.next] = ms;
    this.next = (this.next + 1) % SIZE;
    this.frames += 1;
    this.lastAt = performance.now();
  }

  /** The kept frame times, oldest first, in ms (at most the last 600). */
  recent(): number[] {
    if (this.frames < SIZE) return Array.from(this.times.slice(0, this.frames));
    return [...this.times.slice(this.next), ...this.times.slice(0, this.next)];
  }
}

export const frameStats = new FrameStats();
// For the benchmark only: a way to read the numbers from outside the page's modules.
(globalThis as { __mqttMapFrames?: FrameStats }).__mqttMapFrames = frameStats;

/** Steps per second and time left of a run, smoothed so the numbers do not flicker. */

export class ProgressMeter {
  private lastTime: number | null = null;
  private rate = 0;

  constructor(
    private readonly totalSteps: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Records that `done` of all the run's steps are finished. */
  update(done: number): { stepsPerSecond: number; secondsLeft: number } {
    const time = this.now();
    if (this.lastTime !== null) {
      const seconds = (time - this.lastTime) / 1000;
      if (seconds > 0) {
        const instant = 1 / seconds;
        // Exponential moving average over roughly the last five steps.
        this.rate = this.rate === 0 ? instant : this.rate * 0.8 + instant * 0.2;
      }
    }
    this.lastTime = time;
    const left = Math.max(0, this.totalSteps - done);
    return { stepsPerSecond: this.rate, secondsLeft: this.rate > 0 ? left / this.rate : 0 };
  }
}

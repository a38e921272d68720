package dev.fairshare.sim;

/** Weighted max-min fair shares ("water-filling") and Jain's fairness index. */
public final class WaterFilling {

  private WaterFilling() {}

  /**
   * Splits {@code capacity} among keys with {@code demand} and {@code weight}: every key gets
   * {@code level × weight}, capped by its demand, with the level raised until the capacity or all
   * demand is used up.
   */
  public static double[] allocate(double capacity, double[] demand, double[] weight) {
    int n = demand.length;
    double[] share = new double[n];
    boolean[] capped = new boolean[n];
    double left = capacity;
    while (left > 1e-9) {
      double weights = 0;
      for (int i = 0; i < n; i++) {
        if (!capped[i] && demand[i] > share[i]) {
          weights += weight[i];
        }
      }
      if (weights == 0) {
        break;
      }
      double level = left / weights;
      double next = level;
      for (int i = 0; i < n; i++) {
        if (!capped[i] && demand[i] > share[i]) {
          next = Math.min(next, (demand[i] - share[i]) / weight[i]);
        }
      }
      for (int i = 0; i < n; i++) {
        if (!capped[i] && demand[i] > share[i]) {
          share[i] += next * weight[i];
          left -= next * weight[i];
          if (demand[i] - share[i] <= 1e-9) {
            share[i] = demand[i];
            capped[i] = true;
          }
        }
      }
    }
    return share;
  }

  /**
   * Jain's index of {@code x_i = admitted_i / ideal_i} (weighted fairness: 1 when every key gets
   * the same fraction of its ideal share, 1/n when one key gets everything).
   */
  /** {@link #jain} over the keys {@code among} only. */
  static double jain(java.util.List<Integer> among, double[] admitted, double[] ideal) {
    double[] a = new double[among.size()];
    double[] i = new double[among.size()];
    for (int j = 0; j < a.length; j++) {
      a[j] = admitted[among.get(j)];
      i[j] = ideal[among.get(j)];
    }
    return jain(a, i);
  }

  public static double jain(double[] admitted, double[] ideal) {
    double sum = 0;
    double squares = 0;
    int n = 0;
    for (int i = 0; i < admitted.length; i++) {
      if (ideal[i] <= 0) {
        continue;
      }
      double x = admitted[i] / ideal[i];
      sum += x;
      squares += x * x;
      n++;
    }
    return n == 0 || squares == 0 ? 1.0 : sum * sum / (n * squares);
  }
}

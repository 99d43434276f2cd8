package gpulenet.train;

import java.util.Locale;

/**
 * Three significant digits without trailing zeros (0.05, 1e-05, 1e+06), for hyper-parameters in
 * messages and log lines: a fixed number of decimals would print a small learning rate as 0.00000.
 */
public final class ShortNumber {
    private ShortNumber() {
    }

    public static String of(double v) {
        String s = String.format(Locale.ROOT, "%.3g", v);
        int exponent = s.indexOf('e');
        String mantissa = exponent < 0 ? s : s.substring(0, exponent);
        if (mantissa.contains(".")) {
            mantissa = mantissa.replaceAll("0+$", "").replaceAll("\\.$", "");
        }
        return exponent < 0 ? mantissa : mantissa + s.substring(exponent);
    }
}

package gpulenet.cli;

import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * A float flag's value with the text the user typed, so that messages quote what was typed: 0.99999999 is
 * 1.0 as a float, and "got 1.0" for it would be no help.
 */
public record TypedFloat(float value, String text) {

    /** picocli's converter for TypedFloat options. */
    public static final class Converter implements ITypeConverter<TypedFloat> {
        @Override
        public TypedFloat convert(String text) {
            try {
                return new TypedFloat(Float.parseFloat(text), text);
            } catch (NumberFormatException e) {
                throw new TypeConversionException("'" + text + "' is not a number");
            }
        }
    }

    /**
     * The typed text, and the float it became when that reads as another number (0.99999999 becomes 1.0;
     * 0.1 becomes the float nearest 0.1, which prints as 0.1 and needs no note; 1e400 becomes Infinity,
     * although it is Infinity as a double too).
     */
    public String shown() {
        boolean same = Float.isInfinite(value) ? text.matches("[+-]?Infinity")
                : Double.parseDouble(Float.toString(value)) == Double.parseDouble(text);
        return same ? text : text + " (" + value + " as a 32-bit float)";
    }
}

package gpulenet.format;

import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import gpulenet.io.InputException;
import gpulenet.model.layer.Conv2d;
import gpulenet.model.layer.Dropout2d;
import gpulenet.model.layer.Flatten;
import gpulenet.model.layer.Layer;
import gpulenet.model.layer.Linear;
import gpulenet.model.layer.MaxPool2d;
import gpulenet.model.layer.ReLU;

import java.util.ArrayList;
import java.util.List;

/**
 * A model's layers as the JSON a checkpoint's metadata holds under "layers":
 * [{"type":"Conv2d","name":"conv1","in":1,"out":6,"kernel":5,"padding":2}, {"type":"ReLU","name":"relu1"}, ...].
 */
public final class ModelCodec {
    private ModelCodec() {
    }

    public static String layersToJson(List<Layer> layers) {
        JsonArray a = new JsonArray();
        for (Layer l : layers) {
            JsonObject o = new JsonObject();
            o.addProperty("type", l.getClass().getSimpleName());
            o.addProperty("name", l.name());
            if (l instanceof Conv2d c) {
                o.addProperty("in", c.in());
                o.addProperty("out", c.out());
                o.addProperty("kernel", c.kernel());
                o.addProperty("padding", c.padding());
            } else if (l instanceof Linear f) {
                o.addProperty("in", f.in());
                o.addProperty("out", f.out());
            } else if (l instanceof Dropout2d d) {
                o.addProperty("p", d.p());
            }
            a.add(o);
        }
        return new Gson().toJson(a);
    }

    /** Parses {@link #layersToJson}'s output; anything else is an InputException naming {@code source}. */
    public static List<Layer> layersFromJson(String json, Object source) {
        try {
            List<Layer> layers = new ArrayList<>();
            for (JsonElement e : JsonParser.parseString(json).getAsJsonArray()) {
                JsonObject o = e.getAsJsonObject();
                String name = o.get("name").getAsString();
                String type = o.get("type").getAsString();
                layers.add(switch (type) {
                    case "Conv2d" -> new Conv2d(name, o.get("in").getAsInt(), o.get("out").getAsInt(),
                            o.get("kernel").getAsInt(), o.get("padding").getAsInt());
                    case "Linear" -> new Linear(name, o.get("in").getAsInt(), o.get("out").getAsInt());
                    case "Dropout2d" -> new Dropout2d(name, o.get("p").getAsFloat());
                    case "ReLU" -> new ReLU(name);
                    case "MaxPool2d" -> new MaxPool2d(name);
                    case "Flatten" -> new Flatten(name);
                    default -> throw new JsonParseException("unknown layer type " + type);
                });
            }
            if (layers.isEmpty()) {
                throw new JsonParseException("no layers");
            }
            return layers;
        } catch (RuntimeException e) {
            if (e instanceof InputException) {
                throw e;
            }
            throw new InputException(source + ": checkpoint metadata layers is not a valid layer list ("
                    + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()) + ")");
        }
    }
}

package gpulenet.data;

/** A training split and a test split of the same data set. */
public record DataSets(String name, Dataset train, Dataset test) {
}

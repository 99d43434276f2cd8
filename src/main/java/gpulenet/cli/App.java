package gpulenet.cli;
public class App { public static void main(String[] a) { System.out.println("x"); } }

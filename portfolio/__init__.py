"""The MSP and advisor home: their clients side by side. No models; reads the other apps."""

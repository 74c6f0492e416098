"""The studio: a Gradio app to tag images, train, generate and take the lesson."""
